"""Command line: one module per command, one error path."""
