docker run --rm -v /var/run/docker.sock:/var/run/docker.sock testimg true
