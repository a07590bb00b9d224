docker run --rm --cap-drop ALL --cap-add NET_BIND_SERVICE testimg true
