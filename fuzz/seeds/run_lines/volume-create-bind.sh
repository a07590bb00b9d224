docker volume create --driver local --opt type=none --opt o=bind --opt device=/ hostroot
