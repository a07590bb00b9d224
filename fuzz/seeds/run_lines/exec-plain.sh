docker exec runner true
