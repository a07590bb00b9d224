docker run --rm testimg true
