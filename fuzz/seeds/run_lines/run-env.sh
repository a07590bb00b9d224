docker run --rm -e DB_PASSWORD=hunter2 -e PLAIN=1 testimg true
