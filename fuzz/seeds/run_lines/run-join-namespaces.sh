docker run --rm --network container:runner --pid container:runner --ipc container:runner testimg true
