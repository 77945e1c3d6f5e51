"""Errors a user can fix. The command line prints them as one line and exits with status 2."""


class UserInputError(ValueError):
    """A problem with what the user gave (a file, an option, the machine's devices)."""
