"""One thin click command per DVC stage: parse options, load params, call pipeline/, write."""
