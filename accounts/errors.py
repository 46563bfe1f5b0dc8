"""The account refusals, each with its stable code."""

from marginsite.errors import ApplicationError, InvalidInput


class InvalidUsername(InvalidInput):
    code = "INVALID_USERNAME"


class UsernameTaken(ApplicationError):
    code = "USERNAME_TAKEN"
    status = 409
