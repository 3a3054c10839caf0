"""DomainError: a rule of the domain refused an action.

Raised by actions; becomes a form error on a page and a 409 with {"detail": …} on the API.
"""


class DomainError(Exception):
    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    """A value that breaks a format or range rule: a form error on a page, a 422 on the API."""
