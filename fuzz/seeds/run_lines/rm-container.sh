docker rm -f runner
