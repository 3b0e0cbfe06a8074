"""One module per CLI verb: `run(args, config) -> exit status`. They parse nothing and print results."""
