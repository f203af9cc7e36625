"""Errors the services raise; the API turns each into its HTTP status with the message as detail."""

from __future__ import annotations


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
