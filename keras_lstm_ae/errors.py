"""Exceptions that the package raises for bad input."""


class UsageError(ValueError):
    """Invalid input from the user: an option, a file or a folder.

    The message is one line that names the value received and states the
    fix. The command line prints it and exits with status 2.
    """
