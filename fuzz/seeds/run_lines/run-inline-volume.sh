docker run --rm --mount type=volume,source=inl,target=/x,volume-driver=local,volume-opt=type=none,volume-opt=o=bind,volume-opt=device=/etc testimg true
