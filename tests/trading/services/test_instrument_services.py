"""The operator's instrument services: ``instrument_update`` (terms, the bracket table with its
maintenance amounts computed, the audit entry, the sweep flag of the holders), ``instrument_halt``
and ``instrument_resume`` (what a halt does to orders), ``instrument_create`` from the back office,
and every refusal, which changes nothing.

Seeded market: BTCUSDT mark 60,000 (tick 0.1, step 0.001, taker fee 0.05 %, default leverage
20x), Binance's 2024 table (first tier 0-50,000 at 125x, 0.4 %). Traders start with 10,000 USDT.
"""

import re
from decimal import Decimal

import pytest

from marginsite.errors import InvalidInput
from trading.engine import Bracket
from trading.errors import (
    InstrumentStatusUnchanged,
    InvalidBrackets,
    InvalidQuantity,
    OperatorNotPermitted,
    SymbolHalted,
    UnknownSymbol,
)
from trading.models import (
    AuditEntry,
    Instrument,
    LeverageBracket,
    LeverageSetting,
    Order,
    Position,
    Wallet,
)
from trading.selectors import leverage_for, margin_mode_default
from trading.services import leverage_set, mark_price_set, order_place, position_close, sweep_run
from trading.services.instruments import (
    instrument_create,
    instrument_halt,
    instrument_resume,
    instrument_update,
)

pytestmark = pytest.mark.django_db

D = Decimal
REASON = "Exchange maintenance drill"


@pytest.fixture
def untouched(unchanged):
    """``unchanged``, plus the instruments, brackets, audit log and sweep flags."""

    def state():
        return [
            list(Instrument.objects.order_by("pk").values()),
            list(LeverageBracket.objects.order_by("pk").values()),
            AuditEntry.objects.count(),
            list(Wallet.objects.order_by("pk").values_list("pk", "sweep_due")),
        ]

    class Guard:
        def __enter__(self):
            self.before = state()
            self.inner = unchanged()
            self.inner.__enter__()

        def __exit__(self, *exc):
            self.inner.__exit__(*exc)
            assert state() == self.before, "a refused call changed the instruments"

    return Guard


def btc() -> Instrument:
    return Instrument.objects.get(symbol="BTCUSDT")


# --- instrument_update ---------------------------------------------------------------------


def test_update_stores_exact_values_and_records_only_what_changed(operator):
    instrument = instrument_update(
        operator=operator,
        symbol="btcusdt",
        tick_size="0.5",
        min_notional=D("100"),  # as it was
        liquidation_fee_rate="0.015",
    )

    assert (instrument.tick_size, instrument.liquidation_fee_rate) == (D("0.5"), D("0.015"))
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.target_type) == (
        AuditEntry.Action.INSTRUMENT_CHANGED,
        operator,
        "trading.Instrument",
    )
    assert entry.before == {"tick_size": "0.1", "liquidation_fee_rate": "0.0125"}
    assert entry.after == {"tick_size": "0.5", "liquidation_fee_rate": "0.015"}


def test_update_with_the_same_values_writes_nothing(operator, untouched):
    with untouched():
        instrument_update(
            operator=operator, symbol="BTCUSDT", tick_size="0.10", default_leverage=20
        )


def test_update_marks_every_holder_due_for_the_sweep_whatever_their_mode(operator, make_trader):
    alice, bob, carol = make_trader("alice"), make_trader("bob"), make_trader("carol")
    order_place(user=alice, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="CROSS")
    order_place(user=bob, symbol="BTCUSDT", side="SELL", quantity="0.1", margin_mode="ISOLATED")
    order_place(user=carol, symbol="ETHUSDT", side="BUY", quantity="1")
    Wallet.objects.update(sweep_due=False)

    instrument_update(
        operator=operator,
        symbol="BTCUSDT",
        brackets=[("0", "50000", 125, "0.005"), ("50000", "600000", 100, "0.006")],
    )

    flags = dict(Wallet.objects.values_list("user__username", "sweep_due"))
    assert flags == {"alice": True, "bob": True, "carol": False, "operator": False}


def test_update_of_the_table_computes_the_amounts_and_the_max_leverage(operator):
    instrument = instrument_update(
        operator=operator,
        symbol="BTCUSDT",
        brackets=[
            (D(0), D(50000), 125, D("0.004")),
            ("50000", "250000", "100", "0.005"),
            ("250000", "1000000", 50, "0.01"),
        ],
        default_leverage=50,
    )

    rows = list(
        instrument.brackets.order_by("tier").values_list(
            "tier", "notional_floor", "max_leverage", "maintenance_amount"
        )
    )
    assert rows == [(1, D(0), 125, D(0)), (2, D(50000), 100, D(50)), (3, D(250000), 50, D(1300))]
    assert (instrument.max_leverage, instrument.default_leverage) == (125, 50)


@pytest.mark.parametrize(
    ("terms", "error", "message"),
    [
        ({"tick_size": "NaN"}, InvalidInput, "Tick size must be a finite number."),
        ({"tick_size": 0.1}, InvalidInput, "Tick size must be a decimal number or string"),
        ({"tick_size": "0"}, InvalidInput, "Tick size must be greater than 0."),
        ({"step_size": "1e20"}, InvalidInput, "Step size is too large."),
        ({"min_quantity": "0.000000001"}, InvalidInput, "more than 8 decimal places"),
        ({"taker_fee_rate": "-0.1"}, InvalidInput, "Taker fee rate must not be negative."),
        ({"maker_fee_rate": "0.2"}, InvalidInput, "Maker fee rate must be at most 0.1."),
        ({"default_leverage": True}, InvalidInput, "Default leverage must be a whole number."),
        ({"default_leverage": 126}, InvalidInput, "Default leverage must be from 1 to 125"),
        # int() of more than 4,300 digits raises: the digits are counted before it
        (
            {"default_leverage": "9" * 5000},
            InvalidInput,
            "Default leverage must be a whole number.",
        ),
        ({"book_level_ticks": "9" * 5000}, InvalidInput, "must be a whole number of ticks."),
        ({"default_margin_mode": "cross"}, InvalidInput, "must be CROSS, ISOLATED or empty"),
        ({"symbol": "DOGEUSDT"}, UnknownSymbol, "Unknown symbol 'DOGEUSDT'."),
        (
            {"brackets": [("0", "50000", 10, "0.004")]},
            InvalidInput,
            "Default leverage 20x is above the max leverage of 10x",
        ),
        (
            {"brackets": [("0", "50000", 125, "0.004"), ("50001", "90000", 100, "0.005")]},
            InvalidBrackets,
            "Bracket 2 must start where bracket 1 ends.",
        ),
        ({"brackets": [("0", "50000", 125)]}, InvalidBrackets, "must give a floor, a cap"),
        ({"brackets": [("0", "50000", 1.5, "0.004")]}, InvalidBrackets, "a whole number"),
        ({"brackets": []}, InvalidBrackets, "1 to 20 leverage brackets, not 0"),
    ],
)
def test_update_refuses_bad_input_and_changes_nothing(operator, untouched, terms, error, message):
    terms = {"symbol": "BTCUSDT", **terms}

    with untouched(), pytest.raises(error, match=re.escape(message)):
        instrument_update(operator=operator, **terms)


def test_a_refused_bracket_names_its_tier_and_field(operator):
    with pytest.raises(InvalidBrackets) as refused:
        instrument_update(
            operator=operator,
            symbol="BTCUSDT",
            brackets=[("0", "50000", 125, "0.004"), ("50000", "90000", 100, "0.003")],
        )

    assert (refused.value.tier, refused.value.field, refused.value.code) == (
        2,
        "maintenance_margin_rate",
        "INVALID_BRACKETS",
    )


def test_an_amount_beyond_eight_decimals_is_refused(operator, untouched):
    # 0.5 x (0.00400001 - 0.004) = 0.000000005: nine decimals, which the column cannot hold
    rows = [("0", "0.5", 125, "0.004"), ("0.5", "90000", 100, "0.00400001")]

    with untouched(), pytest.raises(InvalidBrackets, match="more than 8 decimal places"):
        instrument_update(operator=operator, symbol="BTCUSDT", brackets=rows)


def test_support_and_traders_may_not_update(support, trader, untouched):
    for who in (support, trader, None):
        with untouched(), pytest.raises(OperatorNotPermitted):
            instrument_update(operator=who, symbol="BTCUSDT", tick_size="0.5")


# --- halt and resume -----------------------------------------------------------------------


def test_a_halted_instrument_refuses_opening_orders_and_changes_nothing(
    operator, trader, untouched
):
    instrument_halt(operator=operator, symbol="BTCUSDT", reason=REASON)

    with untouched(), pytest.raises(SymbolHalted) as refused:
        order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")

    assert refused.value.message == (
        "Trading in BTCUSDT is halted: only orders that close or reduce a position are accepted."
    )
    assert refused.value.status == 409
    # the other symbols trade on
    order_place(user=trader, symbol="ETHUSDT", side="BUY", quantity="1")


def test_a_halted_instrument_still_lets_a_position_be_closed(operator, trader):
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")
    instrument_halt(operator=operator, symbol="BTCUSDT", reason=REASON)

    close = position_close(user=trader, symbol="BTCUSDT", margin_mode="CROSS")

    assert close.status == Order.Status.FILLED
    position = Position.objects.get(user=trader, instrument__symbol="BTCUSDT")
    assert position.status == Position.Status.CLOSED


def test_a_halted_instrument_accepts_a_reduce_only_order(operator, trader):
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.2")
    instrument_halt(operator=operator, symbol="BTCUSDT", reason=REASON)

    order_place(user=trader, symbol="BTCUSDT", side="SELL", quantity="0.1", reduce_only=True)

    position = Position.objects.get(user=trader, instrument__symbol="BTCUSDT", status="OPEN")
    assert position.quantity == D("0.1")


def test_a_resting_order_that_would_open_expires_if_it_triggers_while_halted(operator, trader):
    resting = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", order_type="LIMIT",
        price="59000",
    )  # fmt: skip
    instrument_halt(operator=operator, symbol="BTCUSDT", reason=REASON)
    mark_price_set(symbol="BTCUSDT", price="58900")

    sweep_run()

    resting.refresh_from_db()
    assert (resting.status, resting.margin_held) == (Order.Status.EXPIRED, D("0"))
    assert not Position.objects.filter(user=trader).exists()
    assert Wallet.objects.get(user=trader).balance == D("10000")


def test_a_resumed_instrument_takes_orders_again(operator, trader):
    instrument_halt(operator=operator, symbol="BTCUSDT", reason=REASON)
    resumed = instrument_resume(operator=operator, symbol="BTCUSDT", reason="Maintenance over")

    order = order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")

    assert resumed.status == Instrument.Status.TRADING
    assert order.status == Order.Status.FILLED
    assert list(AuditEntry.objects.order_by("pk").values_list("action", "reason")) == [
        (AuditEntry.Action.TRADING_HALTED, REASON),
        (AuditEntry.Action.TRADING_RESUMED, "Maintenance over"),
    ]


def test_halt_and_resume_refuse_a_status_already_set_or_no_reason(operator, support, untouched):
    instrument_halt(operator=operator, symbol="BTCUSDT", reason=REASON)

    with untouched():
        with pytest.raises(InstrumentStatusUnchanged, match="already halted"):
            instrument_halt(operator=operator, symbol="BTCUSDT", reason=REASON)
        with pytest.raises(InstrumentStatusUnchanged, match="already open"):
            instrument_resume(operator=operator, symbol="ETHUSDT", reason=REASON)
        with pytest.raises(InvalidInput, match="Give a reason"):
            instrument_resume(operator=operator, symbol="BTCUSDT", reason="  ")
        with pytest.raises(UnknownSymbol):
            instrument_resume(operator=operator, symbol="NOPE", reason=REASON)
        with pytest.raises(OperatorNotPermitted):
            instrument_resume(operator=support, symbol="BTCUSDT", reason=REASON)


# --- instrument_create ---------------------------------------------------------------------


def test_create_by_an_operator_is_audited_and_the_seed_is_not(operator):
    assert not AuditEntry.objects.exists()  # the market fixture seeded three instruments

    instrument_create(
        operator=operator,
        symbol="XRPUSDT",
        base_asset="XRP",
        quote_asset="USDT",
        tick_size=D("0.0001"),
        step_size=D("0.1"),
        min_quantity=D("0.1"),
        min_notional=D("5"),
        default_leverage=20,
        taker_fee_rate=D("0.0005"),
        maker_fee_rate=D("0.0002"),
        liquidation_fee_rate=D("0.0125"),
        brackets=(Bracket(D(0), D(10000), 50, D("0.01"), D(0)),),
    )

    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.target_label) == (
        AuditEntry.Action.INSTRUMENT_CREATED,
        operator,
        "XRPUSDT",
    )
    assert entry.after["max_leverage"] == 50
    assert entry.after["default_margin_mode"] == ""


def test_create_refuses_a_table_off_the_recurrence(operator, untouched):
    brackets = (
        Bracket(D(0), D(10000), 50, D("0.01"), D(0)),
        Bracket(D(10000), D(90000), 20, D("0.02"), D(99)),  # should be 100
    )

    with untouched(), pytest.raises(InvalidBrackets, match="maintenance amount of 100"):
        instrument_create(
            operator=operator,
            symbol="XRPUSDT",
            base_asset="XRP",
            quote_asset="USDT",
            tick_size=D("0.0001"),
            step_size=D("0.1"),
            min_quantity=D("0.1"),
            min_notional=D("5"),
            default_leverage=20,
            taker_fee_rate=D("0.0005"),
            maker_fee_rate=D("0.0002"),
            liquidation_fee_rate=D("0.0125"),
            brackets=brackets,
        )


# --- what traders holding the instrument keep through an edit -------------------------------


def test_a_new_default_leverage_leaves_a_holders_leverage_as_it_was(operator, make_trader):
    holder, newcomer = make_trader("holder"), make_trader("newcomer")
    order_place(user=holder, symbol="BTCUSDT", side="BUY", quantity="0.01", margin_mode="ISOLATED")

    instrument_update(operator=operator, symbol="BTCUSDT", default_leverage=5)

    # the position's margin was charged at 20x: more of it is still charged at 20x
    assert leverage_for(user=holder, instrument=btc(), margin_mode="ISOLATED") == 20
    assert leverage_for(user=newcomer, instrument=btc(), margin_mode="ISOLATED") == 5
    order_place(user=holder, symbol="BTCUSDT", side="BUY", quantity="0.01", margin_mode="ISOLATED")
    position = Position.objects.get(user=holder, status="OPEN")
    assert (position.leverage, position.isolated_margin) == (20, D("60"))  # 0.02 x 60,000 / 20


def test_a_new_default_margin_mode_leaves_a_holders_orders_on_their_position(operator, make_trader):
    holder, newcomer = make_trader("holder"), make_trader("newcomer")
    order_place(user=holder, symbol="BTCUSDT", side="BUY", quantity="0.01")  # Cross, their default

    instrument_update(operator=operator, symbol="BTCUSDT", default_margin_mode="ISOLATED")

    assert margin_mode_default(user=holder, instrument=btc()) == "CROSS"
    assert margin_mode_default(user=newcomer, instrument=btc()) == "ISOLATED"
    order_place(user=holder, symbol="BTCUSDT", side="SELL", quantity="0.01")  # names no mode
    assert not Position.objects.filter(user=holder, status="OPEN").exists()  # it closed the long


def test_a_traders_own_settings_are_not_overwritten_by_an_edit(operator, trader):
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=7)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.01", margin_mode="CROSS")

    instrument_update(operator=operator, symbol="BTCUSDT", default_leverage=5)

    assert LeverageSetting.objects.get(user=trader).leverage == 7


def test_a_position_off_a_new_step_or_below_a_new_minimum_still_closes(operator, trader):
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.015")
    instrument_update(operator=operator, symbol="BTCUSDT", step_size="0.01", min_quantity="0.02")

    close = position_close(user=trader, symbol="BTCUSDT", margin_mode="CROSS")

    assert (close.status, close.quantity) == (Order.Status.FILLED, D("0.015"))
    with pytest.raises(InvalidQuantity):  # a new order must fit the new terms
        order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.015")
