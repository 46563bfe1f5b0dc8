"""The account refusals, each with its stable code."""

from marginsite.errors import ApplicationError, InvalidInput, NotFound


class InvalidUsername(InvalidInput):
    code = "INVALID_USERNAME"


class UsernameTaken(ApplicationError):
    code = "USERNAME_TAKEN"
    status = 409


class ApiKeyLimit(ApplicationError):
    code = "API_KEY_LIMIT"
    status = 409


class ApiKeyNotFound(NotFound):
    code = "API_KEY_NOT_FOUND"


class DeactivationRefused(ApplicationError):
    """An operator may not lock themselves out, nor (unless a superuser) a superuser."""

    code = "DEACTIVATION_REFUSED"
    status = 403


class UserAlreadyInactive(ApplicationError):
    code = "USER_ALREADY_INACTIVE"
    status = 409
