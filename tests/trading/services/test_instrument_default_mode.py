"""The instrument's default margin mode (set by the operator): an order that names no mode gets
the user's per-symbol default, else the instrument's default, else the user's default from
/settings, else Cross. ``margin_mode_default`` (orders, the trade page, both APIs) and
``account_settings`` (/settings, in bulk) apply the same rule; the per-symbol change compares with
it."""

from itertools import product

import pytest
from django.test import Client
from django.urls import reverse

from accounts.services import margin_mode_default_set, superuser_create
from trading.errors import MarginModeLocked, MarginModeUnchanged
from trading.models import AuditEntry, Instrument, Position, SymbolMarginMode
from trading.selectors import margin_mode_default
from trading.selectors.settings_page import account_settings
from trading.services import order_place, symbol_margin_mode_set
from trading.services.instruments import instrument_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(market):
    return superuser_create(username="operator", password="a-long-passphrase-7")


def market_default(operator, symbol: str, margin_mode: str) -> None:
    instrument_update(operator=operator, symbol=symbol, default_margin_mode=margin_mode)


def resolved(user, symbol="BTCUSDT") -> str:
    return margin_mode_default(user=user, instrument=Instrument.objects.get(symbol=symbol))


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_instruments_default_comes_before_the_users_default(operator, trader):
    margin_mode_default_set(user=trader, margin_mode="CROSS")
    market_default(operator, "BTCUSDT", "ISOLATED")

    assert resolved(trader, "BTCUSDT") == "ISOLATED"
    assert resolved(trader, "ETHUSDT") == "CROSS"  # no market default: the user's


def test_the_users_per_symbol_default_comes_before_the_instruments(operator, trader):
    market_default(operator, "BTCUSDT", "ISOLATED")
    symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS")

    assert resolved(trader) == "CROSS"


def test_an_empty_instrument_default_leaves_the_users_default(operator, trader):
    margin_mode_default_set(user=trader, margin_mode="ISOLATED")
    market_default(operator, "BTCUSDT", "CROSS")
    market_default(operator, "BTCUSDT", "")

    assert resolved(trader) == "ISOLATED"


@pytest.mark.parametrize(
    ("own", "instrument_mode", "users"),
    list(product([None, "CROSS", "ISOLATED"], ["", "CROSS", "ISOLATED"], ["CROSS", "ISOLATED"])),
)
def test_settings_and_orders_resolve_the_mode_alike(operator, trader, own, instrument_mode, users):
    margin_mode_default_set(user=trader, margin_mode=users)
    if instrument_mode:
        market_default(operator, "BTCUSDT", instrument_mode)
    if own:
        SymbolMarginMode.objects.create(
            user=trader, instrument=Instrument.objects.get(symbol="BTCUSDT"), margin_mode=own
        )

    rows = {row.instrument.symbol: row for row in account_settings(user=trader).symbols}

    expected = own or instrument_mode or users
    assert resolved(trader, "BTCUSDT") == rows["BTCUSDT"].margin_mode == expected
    assert rows["BTCUSDT"].own_margin_mode == own
    for symbol in ("ETHUSDT", "SOLUSDT"):
        assert resolved(trader, symbol) == rows[symbol].margin_mode == users


def test_an_order_naming_no_mode_opens_in_the_instruments_default(operator, trader):
    market_default(operator, "BTCUSDT", "ISOLATED")

    order = order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")

    assert order.margin_mode == "ISOLATED"
    position = Position.objects.get(user=trader, status="OPEN")
    assert position.margin_mode == "ISOLATED"


def test_setting_the_symbol_to_the_instruments_default_is_no_change(operator, trader, unchanged):
    market_default(operator, "BTCUSDT", "ISOLATED")

    with unchanged(), pytest.raises(MarginModeUnchanged, match="No need to change margin type"):
        symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")


def test_leaving_the_instruments_default_records_it_as_the_mode_before(operator, trader):
    market_default(operator, "BTCUSDT", "ISOLATED")

    symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS")

    entry = AuditEntry.objects.get(action=AuditEntry.Action.SYMBOL_MARGIN_MODE_SET)
    assert (entry.before, entry.after) == (
        {"symbol": "BTCUSDT", "margin_mode": "ISOLATED"},
        {"symbol": "BTCUSDT", "margin_mode": "CROSS"},
    )


def test_a_position_in_the_instruments_default_locks_the_symbols_mode(operator, trader, unchanged):
    market_default(operator, "BTCUSDT", "ISOLATED")
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")

    with unchanged(), pytest.raises(MarginModeLocked, match="Close your BTCUSDT Isolated position"):
        symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS")


def test_the_pages_and_the_api_show_the_instruments_default(operator, trader):
    market_default(operator, "BTCUSDT", "ISOLATED")
    client = signed_in(trader)

    settings_page = client.get(reverse("settings")).content.decode()
    trade_page = client.get(reverse("trade", args=["BTCUSDT"])).content.decode()
    api = client.get(reverse("api_symbol_margin_mode", args=["BTCUSDT"]))

    assert "market default" in settings_page
    assert 'value="ISOLATED" checked' in trade_page
    assert api.status_code == 200
    assert api.json()["margin_mode"] == "ISOLATED"
