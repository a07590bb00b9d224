docker run --rm -v /etc:/etc2:ro testimg true
