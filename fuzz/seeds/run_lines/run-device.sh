docker run --rm --device /dev/null:/dev/xnull --device-cgroup-rule c 1:3 rwm testimg true
