docker exec --privileged -u 0 runner true
