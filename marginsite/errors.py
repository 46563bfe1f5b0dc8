"""Refusals. Every bad input or forbidden action raises an ApplicationError subclass with a stable
``code``, a ``message`` for a person and, where it concerns one, the ``field``. Interfaces (views,
API, commands) turn it into a 4xx answer. Services raise before they write, inside their
transaction, so a refusal never changes anything."""


class ApplicationError(Exception):
    code = "APPLICATION_ERROR"
    status = 400

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(ApplicationError):
    code = "INVALID_INPUT"


class NotFound(ApplicationError):
    code = "NOT_FOUND"
    status = 404
