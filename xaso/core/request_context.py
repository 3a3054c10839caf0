"""Where the current request comes from, for the audit log.

Actions take `by=user` but not the request; the IP address and user agent of the request that
caused a write are carried here by RequestContextMiddleware (a contextvar, so each thread or
task sees its own).
"""

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip_address: str | None = None
    user_agent: str = ""
    request_id: str = ""


_NO_REQUEST = RequestContext()
_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "xaso_request_context", default=None
)


def current() -> RequestContext:
    """The context of the request being served; empty for commands and tasks."""
    return _current.get() or _NO_REQUEST


def set_current(context: RequestContext) -> contextvars.Token:
    return _current.set(context)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)
