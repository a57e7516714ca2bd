"""The one error type the command reports as a single line with exit code 2."""


class CodegenError(Exception):
    """A model or option the backend cannot turn into code; one line for the user."""
