docker run --rm --volumes-from runner testimg true
