docker run --rm --mount type=bind,source=/tmp,target=/t,readonly testimg true
