docker run --rm --security-opt systempaths=unconfined testimg true
