docker run --rm -p 8080:80 -p 127.0.0.1:8443:443/tcp --expose 9000 testimg true
