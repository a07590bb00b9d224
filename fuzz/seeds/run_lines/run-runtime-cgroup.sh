docker run --rm --runtime runc --cgroup-parent /custom testimg true
