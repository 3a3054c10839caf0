from collections.abc import Callable
from typing import TypeVar

from xaso.core.errors import DomainError

T = TypeVar("T")


def submitted(request):
    """The submitted form data, or None on GET, to bind a form with.

    Not `request.POST or None`: that treats an empty submission as none and skips validation.
    """
    return request.POST if request.method == "POST" else None


def run_action(form, action: Callable[[], T]) -> T | None:
    """Call an action for a valid form; a DomainError becomes an error on the form.

    Returns the action's result, or None when it was refused (the form then carries why).
    """
    try:
        return action()
    except DomainError as error:
        field = error.field if error.field in form.fields else None
        form.add_error(field, error.message)
        return None
