docker run --rm -v data1:/data testimg true
