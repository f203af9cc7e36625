"""Errors the services raise; the API turns each into its HTTP status with the message as detail."""

from __future__ import annotations

from typing import Any, Callable, TypeVar

T = TypeVar("T")


class IrtError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(IrtError):
    status_code = 422


class NotFound(IrtError):
    status_code = 404


class Forbidden(IrtError):
    status_code = 403


class Conflict(IrtError):
    status_code = 409


class TooManyAttempts(IrtError):
    """Too many failed password entries; ``retry_after`` seconds until the next is allowed."""

    status_code = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotInitialized(IrtError):
    status_code = 503


def located(where: str | None, call: Callable[..., T], *args: Any) -> T:
    """``call(*args)``; an :class:`IrtError` it raises comes back with ``where`` (a batch's item,
    e.g. ``entries[2] (form AE)``) in front of its message, so a refused batch names what refused it.
    ``where=None`` (a request of one item) leaves the message as it is."""
    if where is None:
        return call(*args)
    try:
        return call(*args)
    except IrtError as exc:
        raise type(exc)(f"{where}: {exc.message}") from None
