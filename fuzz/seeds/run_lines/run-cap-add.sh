docker run --rm --cap-add SYS_ADMIN --cap-drop NET_RAW testimg true
