docker update --memory 128m --memory-swap 256m runner
