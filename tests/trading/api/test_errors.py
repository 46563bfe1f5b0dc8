"""The native API answers every refusal with its class's code and status and its reason, whatever
its message: programs tell refusals apart by ``code`` and ``reason``, never by the wording."""

import pytest

import accounts.errors  # noqa: F401 (its refusal classes are walked below)
from tests.builders import refusals
from trading.api.errors import api_exception_handler
from trading.errors import InvalidBrackets

MESSAGES = ["Refused.", "Reworded: off the step size, below the minimum, with open orders."]


@pytest.mark.parametrize("message", MESSAGES, ids=["plain", "reworded"])
@pytest.mark.parametrize(
    ("kind", "reason"),
    [pytest.param(kind, reason, id=f"{kind.__name__}-{reason}") for kind, reason in refusals()],
)
def test_every_refusal_is_answered_with_its_class_code_status_and_reason(kind, reason, message):
    details = {"tier": 1} if kind is InvalidBrackets else {}
    if reason is not None:
        details["reason"] = reason
    refusal = kind(message, field="quantity", **details)

    response = api_exception_handler(refusal, {})

    assert (response.status_code, response.data) == (
        kind.status,
        {"code": kind.code, "message": message, "field": "quantity", "reason": reason},
    )
    assert kind.status in (400, 403, 404, 409)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [pytest.param(kind, reason, id=f"{kind.__name__}-{reason}") for kind, reason in refusals()],
)
def test_every_refusal_message_starts_with_a_capital(kind, reason):
    # a message that starts with the field at fault, as the input checks word theirs
    details = {"tier": 1} if kind is InvalidBrackets else {}
    if reason is not None:
        details["reason"] = reason
    refusal = kind("quantity must be greater than 0.", field="quantity", **details)

    response = api_exception_handler(refusal, {})

    assert refusal.message == str(refusal) == "Quantity must be greater than 0."
    assert response.data["message"] == "Quantity must be greater than 0."
