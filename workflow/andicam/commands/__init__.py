"""Command-line subcommands, one module each; see ``andicam.cli``."""
