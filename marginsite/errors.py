"""Refusals. Every bad input or forbidden action raises an ApplicationError subclass with a stable
``code``, a ``message`` for a person and, where it concerns one, the ``field``. Interfaces (views,
API, commands) turn it into a 4xx answer. Services raise before they write, inside their
transaction, so a refusal never changes anything.

Where one code stands for several conditions (a quantity off the step, or below the minimum), the
class lists them in a ``Reason`` enum and every refusal of it names its ``reason``. Programs tell
refusals apart by class (or code) and reason, never by the message: a message is for a person
and may be reworded freely."""

from enum import StrEnum


class ApplicationError(Exception):
    code = "APPLICATION_ERROR"
    status = 400
    # The conditions the code stands for, when it stands for several (None: one condition).
    Reason: type[StrEnum] | None = None

    def __init__(self, message: str, *, field: str | None = None, reason: StrEnum | None = None):
        if not (reason is None if self.Reason is None else isinstance(reason, self.Reason)):
            raise TypeError(
                f"{type(self).__name__} takes a reason exactly when it has a Reason enum (then "
                f"one of its members), not {reason!r}."
            )
        message = _sentence(message)
        super().__init__(message)
        self.message = message
        self.field = field
        self.reason = reason


class InvalidInput(ApplicationError):
    code = "INVALID_INPUT"


class NotFound(ApplicationError):
    code = "NOT_FOUND"
    status = 404


def _sentence(message: str) -> str:
    """A message is a sentence for a person: it starts with a capital ("quantity must be..." ->
    "Quantity must be..."), and a field name that is an identifier is kept as it is spelt in the
    request ("margin_mode must be..." -> "The margin_mode must be...")."""
    first = message.split(" ", 1)[0]
    if "_" in first:
        return f"The {message}"
    return message[:1].upper() + message[1:]
