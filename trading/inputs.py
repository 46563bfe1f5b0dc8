"""Numbers as they arrive from outside (a form, JSON, a bot): turned into Decimals that fit the
database columns, or refused with the field's name. Floats are refused, never converted: 0.1 as a
float is not 0.1."""

import re
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from marginsite.errors import InvalidInput
from trading.engine import quantity_for_cost

# The widest money column holds 20 integer digits and 8 decimals; a figure above 10^15 USDT or
# units is no paper trade, and it keeps every product of two inputs well inside 28 digits.
LARGEST_INPUT = Decimal("1e15")
DECIMAL_PLACES = 8
# No number a client may send needs more characters (20 digits, a point and 8 decimals, a sign):
# every parser counts them before it converts, so a 5,000-digit figure is a refusal, not a 500
# (Python's int() gives up above 4,300 digits) nor seconds of arithmetic.
LONGEST_NUMBER = 64
ROW_ID = re.compile(r"[0-9]{1,18}")
WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")  # a leverage, a count of ticks: never a billion
ROW_ID_LIMIT = 10**18
# The reasons of a malformed number, by name: each Reason enum an ``error`` class has holds them.
NOT_A_NUMBER, TOO_LARGE, TOO_PRECISE = "NOT_A_NUMBER", "TOO_LARGE", "TOO_PRECISE"


def decimal_from_input(value, *, field: str, error=InvalidInput) -> Decimal:
    """A finite Decimal with at most 8 decimals and below 10^15, from a Decimal, an int or a
    numeric string; anything else raises ``error`` naming ``field`` (and, for a class that tells
    its refusals apart, the reason NOT_A_NUMBER, TOO_LARGE or TOO_PRECISE of its Reason)."""

    def refusal(message: str, reason: str) -> InvalidInput:
        return error(
            message, field=field, reason=None if error.Reason is None else error.Reason[reason]
        )

    if isinstance(value, (bool, float)):
        raise refusal(f"{field} must be a decimal number or string, not {value!r}.", NOT_A_NUMBER)
    if isinstance(value, int):
        value = Decimal(value)
    elif isinstance(value, str):
        if len(value) > LONGEST_NUMBER:
            raise refusal(
                f"{field} has more than {LONGEST_NUMBER} characters: no number needs so many.",
                TOO_LARGE,
            )
        if not value.isascii():  # Decimal() also reads the digits of other scripts
            raise refusal(f"{field} must be a number, not {value!r}.", NOT_A_NUMBER)
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise refusal(f"{field} must be a number, not {value!r}.", NOT_A_NUMBER) from None
    elif not isinstance(value, Decimal):
        raise refusal(f"{field} must be a number.", NOT_A_NUMBER)
    if not value.is_finite():
        raise refusal(f"{field} must be a finite number.", NOT_A_NUMBER)
    if value and value.adjusted() >= LARGEST_INPUT.adjusted():  # no arithmetic: 1e999999 too
        raise refusal(f"{field} is too large.", TOO_LARGE)
    if value != value.quantize(Decimal(1).scaleb(-DECIMAL_PLACES), rounding=ROUND_DOWN):
        raise refusal(f"{field} has more than {DECIMAL_PLACES} decimal places.", TOO_PRECISE)
    return value


def digits_as_int(value):
    """``value`` as an int when it is a string of at most 9 ASCII digits (a form's "50"), else
    unchanged, for the caller to accept as an int or refuse: the digits are counted before int(),
    which raises on more than 4,300 of them."""
    if isinstance(value, str) and WHOLE_NUMBER.fullmatch(value.strip()):
        return int(value)
    return value


def row_id_from_input(value, *, not_found: Exception) -> int:
    """A row's id as a client sends it (an int, or digits in a string); anything else is a row
    that cannot exist, and raises ``not_found``, exactly as an unknown id does."""
    if isinstance(value, str) and ROW_ID.fullmatch(value.strip()):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < ROW_ID_LIMIT:
        return value
    raise not_found


def on_step(value: Decimal, step: Decimal) -> bool:
    """Whether ``value`` is a whole multiple of ``step`` (exact: remainder, not division)."""
    return value % step == 0


def quantity_from_notional(notional: Decimal, *, price: Decimal, step: Decimal) -> Decimal:
    """The base quantity that ``notional`` USDT buys at ``price``, rounded down to the step: an
    order entered in USDT never costs more than the amount typed (the rule of an order by cost,
    at leverage 1)."""
    return quantity_for_cost(cost=notional, leverage=1, price=price, step_size=step)
