docker run --rm --tmpfs /tmp testimg true
