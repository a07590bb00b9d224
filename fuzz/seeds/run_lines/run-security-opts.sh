docker run --rm --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt label=disable --security-opt no-new-privileges testimg true
