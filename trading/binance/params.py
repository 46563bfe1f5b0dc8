"""A request's parameters as Binance reads them: the query string and, when there is one, the
form body (``application/x-www-form-urlencoded``, what Binance's clients send), as one set of
names. A name sent twice is refused; an empty value counts as not sent. Values are checked for
their syntax only (Binance's -1100/-1102/-1106/-1130 refusals); what they mean is checked by the
services, whose refusals errors.py translates."""

import re
from urllib.parse import parse_qsl

from trading.binance import FACADE_VENUE
from trading.binance.errors import (
    DUPLICATE_PARAMETER,
    BinanceError,
    binance_errors,
    illegal_characters,
    invalid_value,
    mandatory_missing,
    not_required,
)
from trading.selectors import instrument_get
from trading.selectors.instruments import instrument_cached

NUMBER = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
INTEGER = r"^[0-9]{1,20}$"
LARGEST_INTEGER = 2**63 - 1  # a database id or a time in ms, never more
FORM = "application/x-www-form-urlencoded"


def request_params(request) -> "Params":
    """The parameters of ``request`` (a Django or DRF request)."""
    pairs = parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip()
    if request.body and content_type in ("", FORM):
        pairs += parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
    values = {}
    for name, value in pairs:
        if name in values:
            raise BinanceError.of(DUPLICATE_PARAMETER)
        values[name] = value
    return Params({name: value for name, value in values.items() if value != ""})


class Params:
    """Readers of the parameters by kind; each refuses as Binance does."""

    def __init__(self, values: dict[str, str]):
        self.values = values

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.values.get(name)
        if value is None and required:
            raise mandatory_missing(name)
        return value

    def number(self, name: str, *, required: bool = False) -> str | None:
        """A decimal number as its text (the services read it exactly)."""
        value = self.text(name, required=required)
        if value is not None and not re.fullmatch(NUMBER, value):
            raise illegal_characters(name, NUMBER)
        return value

    def integer(self, name: str, *, required: bool = False) -> int | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        if not re.fullmatch(INTEGER, value) or int(value) > LARGEST_INTEGER:
            raise illegal_characters(name, INTEGER)
        return int(value)

    def boolean(self, name: str) -> bool:
        """ "true" or "false" in any case; absent is false."""
        value = self.text(name)
        if value is None:
            return False
        if value.lower() not in ("true", "false"):
            raise invalid_value(name)
        return value.lower() == "true"

    def choice(self, name: str, choices, *, default: str | None = None, error=None) -> str | None:
        """One of ``choices`` (or ``default`` when absent); another value raises ``error`` (a
        BinanceError), else -1130."""
        value = self.text(name, required=default is None)
        if value is None:
            return default
        if value not in choices:
            raise error or invalid_value(name)
        return value

    def forbidden(self, *names: str) -> None:
        """Refuse parameters this request type takes no value for."""
        for name in names:
            if name in self.values:
                raise not_required(name)

    def limit(self, *, default: int, maximum: int) -> int:
        """``limit``: at most ``maximum`` (a larger one is cut, as Binance does), at least 1."""
        limit = self.integer("limit")
        return default if limit is None else max(1, min(limit, maximum))

    def instrument(self, *, required: bool = True, name: str = "symbol", kept: bool = False):
        """The instrument named by ``symbol`` (or ``name``: indexPriceKlines names a ``pair``),
        None if absent and not required; -1121 if none has that name. ``kept``: from the copy
        this process keeps in memory, for an order (``order_place`` checks it again under its
        lock if the instruments have changed)."""
        symbol = self.text(name, required=required)
        if symbol is None:
            return None
        find = instrument_cached if kept else instrument_get
        with binance_errors("read"):
            return find(symbol, venue=FACADE_VENUE)
