docker run --rm --privileged testimg true
