"""Fixtures for the trading services: a seeded market (BTCUSDT at 60,000, ETHUSDT at 3,000,
SOLUSDT at 150), traders created the real way (user_create: preferences and a wallet funded with
10,000 USDT through the ledger), and ``unchanged``, the proof that a refusal changed nothing."""

import contextlib
from decimal import Decimal

import pytest

from accounts.services import user_create
from trading.models import (
    Fill,
    LedgerEntry,
    LeverageSetting,
    MarkPrice,
    Order,
    Position,
    Preferences,
    SymbolMarginMode,
    Wallet,
)
from trading.selectors import ledger_problems
from trading.services import market_seed


@pytest.fixture
def market(db):
    """The demo market with its seed marks: BTCUSDT 60000, ETHUSDT 3000, SOLUSDT 150."""
    market_seed()
    return {mark.instrument.symbol: mark.price for mark in MarkPrice.objects.all()}


@pytest.fixture
def make_trader(market):
    """make_trader("alice") -> a user with preferences and a 10,000 USDT wallet."""
    counter = iter(range(1, 1000))

    def make(username: str | None = None):
        return user_create(username=username or f"trader{next(counter)}", password="pw-0123456789")

    return make


@pytest.fixture
def trader(make_trader):
    return make_trader("alice")


def database_state() -> dict:
    """Everything a trading service may change, as plain values."""
    return {
        "wallets": list(Wallet.objects.order_by("pk").values_list("user_id", "balance")),
        "positions": list(
            Position.objects.order_by("pk").values_list(
                "pk", "status", "side", "quantity", "entry_price", "leverage", "isolated_margin"
            )
        ),
        "orders": list(
            Order.objects.order_by("pk").values_list("pk", "status", "margin_held", "quantity")
        ),
        "fills": Fill.objects.count(),
        "ledger": list(LedgerEntry.objects.order_by("pk").values_list("pk", "kind", "amount")),
        "leverage": list(
            LeverageSetting.objects.order_by("pk").values_list("pk", "margin_mode", "leverage")
        ),
        "symbol_modes": list(
            SymbolMarginMode.objects.order_by("pk").values_list("pk", "margin_mode")
        ),
        "preferences": list(
            Preferences.objects.order_by("pk").values_list("pk", "default_margin_mode")
        ),
        "marks": list(MarkPrice.objects.order_by("pk").values_list("pk", "price", "source")),
    }


@pytest.fixture
def unchanged():
    """``with unchanged(): service(...)`` asserts the database is exactly as before the block
    (use it around a call that must be refused, inside ``pytest.raises``)."""

    @contextlib.contextmanager
    def guard():
        before = database_state()
        try:
            yield
        finally:
            assert database_state() == before, "a refused call changed the database"

    return guard


@pytest.fixture
def balanced_ledger():
    """Asserts after the test that the ledger balances (check_ledger's invariants)."""
    yield
    assert ledger_problems() == []


def wallet_balance(user) -> Decimal:
    return Wallet.objects.get(user=user).balance
