docker volume create plainvol
