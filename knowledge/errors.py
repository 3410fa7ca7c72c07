"""Errors of the knowledge room whose message is safe to show as it is."""


class InputError(ValueError):
    """A file given on the command line cannot be used; the message names the file and the problem."""
