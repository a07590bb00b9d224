docker run --rm -u 1000:1000 --read-only --memory 64m --pids-limit 100 --restart no testimg true
