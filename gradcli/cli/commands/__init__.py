"""Subcommands other than `eval`, one module each; cli.py registers them."""
