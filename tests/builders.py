"""What tests build and read the same way everywhere, so that each is written once: orders and
positions through the real services, ledger rows and bracket tables as tuples, balances, the
engine's view of the seeded brackets, the state a refusal must leave alone, a back-office change
list's rows, and threads raced on one start. Tests import them (``from tests.builders import
ledger_rows``); the fixtures the folders share are in tests/fixtures.py."""

import html
import json
import re
import threading
from decimal import Decimal
from io import StringIO
from pathlib import Path

from django.core.management import call_command
from django.db import connection
from hypothesis import HealthCheck, settings, strategies

from marginsite.errors import ApplicationError
from trading import engine
from trading.models import (
    Fill,
    LedgerEntry,
    LeverageBracket,
    LeverageSetting,
    LiquidationEvent,
    MarkPrice,
    Order,
    Position,
    Preferences,
    SymbolMarginMode,
    Wallet,
)
from trading.selectors import ledger_problems, position_list, system_account_balance
from trading.services import leverage_set, mark_price_set, order_place, sweep_run

# The demo market's brackets, from its seed file (the suite seeds it with flat books, but these).
SEED_FILE = Path(__file__).resolve().parent.parent / "trading" / "seed" / "market.json"
SEED_BRACKETS = {
    spec["symbol"]: engine.brackets_from_rows(spec["brackets"])
    for spec in json.loads(SEED_FILE.read_text())["instruments"]
}

# Property tests over the database: examples share the test's transaction (each trades as a new
# trader), no example database (it would be written into the working directory), and a few dozen
# examples keep a test under 30 s.
DATABASE_PROPERTY = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --- the market ----------------------------------------------------------------------------


def scaled(min_value, max_value, places):
    """Hypothesis decimals with ``places`` decimal places, from integers (never floats)."""
    return strategies.integers(min_value, max_value).map(lambda n: Decimal(n).scaleb(-places))


def assert_the_ledger_balances() -> None:
    """check_ledger, the command an operator runs, re-sums the whole ledger: balanced."""
    out = StringIO()
    call_command("check_ledger", stdout=out)  # raises CommandError otherwise
    assert out.getvalue().strip() == "The ledger balances."


def bracket_rows(symbol: str) -> list[tuple]:
    """The instrument's bracket table: (tier, notional floor, notional cap, max leverage,
    maintenance margin rate, maintenance amount) a tier."""
    return list(
        LeverageBracket.objects.filter(instrument__symbol=symbol)
        .order_by("tier")
        .values_list(
            "tier",
            "notional_floor",
            "notional_cap",
            "max_leverage",
            "maintenance_margin_rate",
            "maintenance_amount",
        )
    )


# --- money ---------------------------------------------------------------------------------


def wallet_balance(user) -> Decimal:
    return Wallet.objects.get(user=user).balance


def last_ledger_pk() -> int:
    """The newest ledger entry's pk (0 for none): ``ledger_rows(after=...)`` starts after it."""
    return LedgerEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def ledger_rows(*more: str, after: int = 0, **filters) -> list[tuple]:
    """The ledger entries after entry ``after`` that match ``filters`` (``user=``, ``order=``...),
    in order, each as (kind, amount, source kind, destination kind, *more): ``more`` names further
    fields to show, such as "memo" or "position_id"."""
    return list(
        LedgerEntry.objects.filter(pk__gt=after, **filters)
        .order_by("pk")
        .values_list("kind", "amount", "source__kind", "destination__kind", *more)
    )


# --- orders and positions ------------------------------------------------------------------


def market_order(user, side, quantity, *, symbol="BTCUSDT", margin_mode="CROSS", **options):
    return order_place(
        user=user, symbol=symbol, side=side, quantity=quantity, margin_mode=margin_mode, **options
    )


def limit_order(user, side, quantity, price, *, symbol="BTCUSDT", margin_mode="CROSS"):
    """A limit order at ``price``: it rests, holding margin, unless the book crosses it."""
    return market_order(
        user,
        side,
        quantity,
        symbol=symbol,
        margin_mode=margin_mode,
        order_type="LIMIT",
        price=price,
    )


def position_of(user, margin_mode="CROSS", *, symbol="BTCUSDT") -> Position:
    """The user's open position of (symbol, margin_mode)."""
    return Position.objects.get(
        user=user, instrument__symbol=symbol, margin_mode=margin_mode, status="OPEN"
    )


def open_position(user, side, quantity, *, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=None):
    """A market order at the mark (at ``leverage`` when given, set first), and the open position
    of its margin mode that it leaves: isolated unless told, a position with a margin of its own."""
    if leverage is not None:
        leverage_set(user=user, symbol=symbol, margin_mode=margin_mode, leverage=leverage)
    market_order(user, side, quantity, symbol=symbol, margin_mode=margin_mode)
    return position_of(user, margin_mode, symbol=symbol)


def isolated_btc_long_liquidated(
    user, *, side="BUY", mark="57200", quantity="1"
) -> LiquidationEvent:
    """An isolated BTC position opened at 60,000, 20x (1 BTC: margin 3000, fee 30), liquidated by
    the sweep at ``mark`` (a long of 1 BTC at 57,200: margin balance 3000 - 2800 = 200 <= MM
    57200 x 0.005 - 50 = 236); the user's latest liquidation."""
    mark_price_set(symbol="BTCUSDT", price="60000")
    open_position(user, side, quantity, leverage=20)
    mark_price_set(symbol="BTCUSDT", price=mark)
    sweep_run()
    return LiquidationEvent.objects.filter(user=user).first()


def position_rows_by_key(user) -> dict:
    """position_list's rows by (symbol, margin mode)."""
    rows = position_list(user=user)
    return {(row.position.instrument.symbol, row.position.margin_mode): row for row in rows}


def position_state(symbol, side, quantity, entry, mark) -> engine.PositionState:
    """The engine's position on the seeded brackets of ``symbol``."""
    return engine.PositionState(
        side, Decimal(quantity), Decimal(entry), Decimal(mark), SEED_BRACKETS[symbol]
    )


# --- state and refusals --------------------------------------------------------------------


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


def refusals() -> list[tuple[type[ApplicationError], object]]:
    """Every refusal class that marginsite, trading and accounts define, with each reason of its
    Reason enum (None for a class without one). Import the modules that define them first."""
    found, pending = [], [ApplicationError]
    while pending:
        kind = pending.pop()
        pending.extend(kind.__subclasses__())
        if kind.__module__.partition(".")[0] in ("marginsite", "trading", "accounts"):
            reasons = list(kind.Reason) if kind.Reason else [None]
            found.extend((kind, reason) for reason in reasons)
    return found


# --- pages ---------------------------------------------------------------------------------


def changelist_rows(response) -> dict[int, dict[str, str]]:
    """A back-office change list's rows: id -> {column: text as shown}, a yes/no icon read as its
    alt text ("True"/"False")."""
    rows = {}
    for body in re.findall(r"<tr>(.*?)</tr>", response.content.decode(), re.S):
        cells = {
            name: " ".join(html.unescape(re.sub(r"<[^>]+>", " ", _icons_read(cell))).split())
            for _, name, cell in re.findall(
                r'<(td|th) class="field-([a-z_]+)[^"]*"[^>]*>(.*?)</\1>', body, re.S
            )
        }
        if "id" in cells:
            rows[int(cells["id"])] = cells
    return rows


def _icons_read(cell: str) -> str:
    return re.sub(r'<img [^>]*alt="([^"]*)"[^>]*>', r"\1", cell)


# --- concurrency ---------------------------------------------------------------------------


def race(*calls):
    """Run each call in its own thread (its own connection), all released at once; return
    (results, errors)."""
    start = threading.Barrier(len(calls))
    results, errors = [], []

    def run(call):
        try:
            start.wait()
            results.append(call())
        except Exception as error:  # collected for the assertions
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    return results, errors


def assert_each_liquidated_once(users):
    """Each of ``users`` (a 1 BTC isolated long at 60,000, 20x, liquidated at 57,200: the
    concurrency tests' accounts at risk) liquidated exactly once, all or nothing."""
    events = list(LiquidationEvent.objects.values_list("user_id", flat=True))
    assert sorted(events) == sorted(user.pk for user in users)
    assert set(
        Position.objects.filter(user__in=users).values_list("status", "isolated_margin")
    ) == {("LIQUIDATED", Decimal(0))}
    # each user lost exactly the 3000 margin: the wallets are still 10000 - 3030
    assert set(Wallet.objects.filter(user__in=users).values_list("balance", flat=True)) == {
        Decimal("6970")
    }
    assert system_account_balance("INSURANCE_FUND") == len(users) * Decimal("200")
    assert ledger_problems() == []
