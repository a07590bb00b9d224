docker run --rm --sysctl net.ipv4.ip_unprivileged_port_start=0 --sysctl kernel.msgmax=65536 testimg true
