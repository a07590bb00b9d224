docker run --rm -v /:/host testimg true
