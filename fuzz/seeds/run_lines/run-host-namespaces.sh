docker run --rm --pid host --ipc host --uts host --network host --userns host --cgroupns host testimg true
