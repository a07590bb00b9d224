docker run --rm --mount type=bind,source=/tmp,target=/t,bind-propagation=rshared testimg true
