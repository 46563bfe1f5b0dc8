"""The back office's instruments: the list, the change page (terms and the bracket table inline,
checked by the services, maintenance amounts computed), creating one, halting and resuming
trading, and who may do what.

Seeded market: BTCUSDT (tick 0.1, step 0.001, min quantity 0.001, min notional 100, taker 0.05 %,
maker 0.02 %, liquidation 1.25 %, default leverage 20x) with Binance's 2024 table, whose first
tier is 0-50,000 at 125x and 0.4 %; mark 60,000. Every trader starts with 10,000 USDT.
"""

import html
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from tests.builders import bracket_rows
from trading.models import AuditEntry, Instrument, LeverageBracket, Position, Wallet
from trading.services import order_place

pytestmark = pytest.mark.django_db

D = Decimal
CHANGELIST = reverse("admin:trading_instrument_changelist")
ADD = reverse("admin:trading_instrument_add")
TERMS = (
    "tick_size",
    "step_size",
    "min_quantity",
    "min_notional",
    "taker_fee_rate",
    "maker_fee_rate",
    "liquidation_fee_rate",
    "default_leverage",
    "default_margin_mode",
    "venue",
    "book_half_spread_ticks",
    "book_level_ticks",
    "book_level_quantity",
    "book_max_slippage_rate",
)
# floors 0 / 50,000 / 250,000 at rates 0.4 % / 0.5 % / 1 %: amounts 0, then
# 0 + 50000 x (0.005 - 0.004) = 50, then 50 + 250000 x (0.01 - 0.005) = 1300
THREE_TIERS = [
    ("0", "50000", 125, "0.004"),
    ("50000", "250000", 100, "0.005"),
    ("250000", "1000000", 50, "0.01"),
]


# --- helpers -------------------------------------------------------------------------------


def change_url(symbol="BTCUSDT") -> str:
    return reverse(
        "admin:trading_instrument_change", args=[Instrument.objects.get(symbol=symbol).pk]
    )


def instrument_state() -> list:
    """What an instrument edit may change: every instrument, bracket, audit entry and flag."""
    return [
        list(Instrument.objects.order_by("pk").values()),
        list(LeverageBracket.objects.order_by("pk").values()),
        list(AuditEntry.objects.order_by("pk").values_list("pk", flat=True)),
        list(Wallet.objects.order_by("pk").values_list("pk", "sweep_due")),
    ]


def form_data(symbol="BTCUSDT", *, brackets=None, delete=(), **terms) -> dict:
    """The change page's POST as the browser sends it: the stored values, with ``terms`` and
    ``brackets`` (rows of floor, cap, max leverage, rate) instead where given. Existing tiers
    keep their row ids; extra rows are new; ``delete`` lists tiers ticked for deletion."""
    instrument = Instrument.objects.get(symbol=symbol)
    data = {name: getattr(instrument, name) for name in TERMS}
    data.update(terms)
    stored = list(instrument.brackets.order_by("tier"))
    rows = brackets if brackets is not None else [
        (b.notional_floor, b.notional_cap, b.max_leverage, b.maintenance_margin_rate)
        for b in stored
    ]  # fmt: skip
    total = max(len(rows), len(stored))
    data.update(
        {
            "brackets-TOTAL_FORMS": total,
            "brackets-INITIAL_FORMS": len(stored),
            "brackets-MIN_NUM_FORMS": 0,
            "brackets-MAX_NUM_FORMS": 1000,
        }
    )
    for index in range(total):
        prefix = f"brackets-{index}"
        data[f"{prefix}-instrument"] = instrument.pk
        if index < len(stored):
            data[f"{prefix}-id"] = stored[index].pk
        if index < len(rows):
            floor, cap, leverage, rate = rows[index]
            data.update(
                {
                    f"{prefix}-notional_floor": floor,
                    f"{prefix}-notional_cap": cap,
                    f"{prefix}-max_leverage": leverage,
                    f"{prefix}-maintenance_margin_rate": rate,
                }
            )
        else:
            stored_row = stored[index]
            data.update(
                {
                    f"{prefix}-notional_floor": stored_row.notional_floor,
                    f"{prefix}-notional_cap": stored_row.notional_cap,
                    f"{prefix}-max_leverage": stored_row.max_leverage,
                    f"{prefix}-maintenance_margin_rate": stored_row.maintenance_margin_rate,
                    f"{prefix}-DELETE": "on",
                }
            )
        if index + 1 in delete:
            data[f"{prefix}-DELETE"] = "on"
    return {key: "" if value is None else str(value) for key, value in data.items()}


def shown_errors(response) -> str:
    """The error lists of the page, as text."""
    found = re.findall(
        r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S
    )
    return " | ".join(" ".join(html.unescape(re.sub(r"<[^>]+>", " ", e)).split()) for e in found)


def halt(client, symbols, reason="Exchange maintenance drill", action="halt"):
    ids = [Instrument.objects.get(symbol=symbol).pk for symbol in symbols]
    return client.post(
        CHANGELIST, {"action": action, "_selected_action": ids, "apply": "1", "reason": reason}
    )


def status(symbol="BTCUSDT") -> str:
    return Instrument.objects.get(symbol=symbol).status


# --- the list ------------------------------------------------------------------------------


def test_the_list_shows_each_instruments_terms(operator_client):
    response = operator_client.get(CHANGELIST)

    assert response.status_code == 200
    page = response.content.decode()
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
        assert f">{symbol}</a>" in page
    assert "trader&#x27;s own" in page  # no operator default margin mode yet


def test_the_list_costs_a_fixed_number_of_queries(operator_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        operator_client.get(CHANGELIST)


def test_the_change_page_shows_the_brackets_with_computed_amounts_read_only(operator_client):
    response = operator_client.get(change_url())

    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="brackets-0-maintenance_amount"' not in page  # computed, never typed
    assert 'name="brackets-1-notional_floor"' in page
    assert 'name="symbol"' not in page  # symbol and assets never change
    assert 'name="max_leverage"' not in page  # the first tier's
    assert 'name="status"' not in page  # halt and resume only


# --- editing terms -------------------------------------------------------------------------


def test_the_operator_edits_fees_and_tick_with_an_audit_entry_and_holders_swept(
    operator_client, operator, trader, make_trader
):
    # given alice holds BTCUSDT (her wallet was swept since), bob holds only ETHUSDT
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")
    bob = make_trader("bob")
    order_place(user=bob, symbol="ETHUSDT", side="BUY", quantity="1")
    Wallet.objects.update(sweep_due=False)

    response = operator_client.post(
        change_url(),
        form_data(tick_size="0.5", taker_fee_rate="0.0004", maker_fee_rate="0.0001"),
    )

    assert response.status_code == 302, shown_errors(response)
    btc = Instrument.objects.get(symbol="BTCUSDT")
    assert (btc.tick_size, btc.taker_fee_rate, btc.maker_fee_rate) == (
        D("0.5"),
        D("0.0004"),
        D("0.0001"),
    )
    assert btc.liquidation_fee_rate == D("0.0125")  # untouched
    entry = AuditEntry.objects.get(action=AuditEntry.Action.INSTRUMENT_CHANGED)
    assert (entry.actor, entry.target_label, entry.target_id) == (operator, "BTCUSDT", str(btc.pk))
    assert entry.before == {
        "tick_size": "0.1",
        "taker_fee_rate": "0.0005",
        "maker_fee_rate": "0.0002",
    }
    assert entry.after == {
        "tick_size": "0.5",
        "taker_fee_rate": "0.0004",
        "maker_fee_rate": "0.0001",
    }
    # the holder's watch prices are recomputed at the next sweep; bob's are still good
    assert Wallet.objects.get(user=trader).sweep_due is True
    assert Wallet.objects.get(user=bob).sweep_due is False


def test_the_operator_sets_the_default_margin_mode_and_clears_it(operator_client):
    operator_client.post(change_url(), form_data(default_margin_mode="ISOLATED"))
    assert Instrument.objects.get(symbol="BTCUSDT").default_margin_mode == "ISOLATED"

    operator_client.post(change_url(), form_data(default_margin_mode=""))

    assert Instrument.objects.get(symbol="BTCUSDT").default_margin_mode == ""
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.INSTRUMENT_CHANGED).order_by("pk")
    assert [(e.before, e.after) for e in entries] == [
        ({"default_margin_mode": ""}, {"default_margin_mode": "ISOLATED"}),
        ({"default_margin_mode": "ISOLATED"}, {"default_margin_mode": ""}),
    ]


def test_saving_the_page_unchanged_writes_nothing(operator_client):
    before = instrument_state()

    response = operator_client.post(change_url(), form_data())

    assert response.status_code == 302
    assert instrument_state() == before


def test_the_symbol_and_assets_cannot_be_changed(operator_client):
    data = form_data(taker_fee_rate="0.0004")
    data.update({"symbol": "XRPUSDT", "base_asset": "XRP", "quote_asset": "BUSD"})

    operator_client.post(change_url(), data)

    btc = Instrument.objects.get(pk=Instrument.objects.get(symbol="BTCUSDT").pk)
    assert (btc.symbol, btc.base_asset, btc.quote_asset) == ("BTCUSDT", "BTC", "USDT")
    assert btc.taker_fee_rate == D("0.0004")


# --- the bracket table ---------------------------------------------------------------------


def test_a_bracket_table_edit_stores_the_computed_maintenance_amounts(operator_client):
    old = bracket_rows("SOLUSDT")

    response = operator_client.post(
        change_url("SOLUSDT"), form_data("SOLUSDT", brackets=THREE_TIERS)
    )

    assert response.status_code == 302, shown_errors(response)
    assert bracket_rows("SOLUSDT") == [
        (1, D(0), D(50000), 125, D("0.004"), D(0)),
        (2, D(50000), D(250000), 100, D("0.005"), D(50)),
        (3, D(250000), D(1000000), 50, D("0.01"), D(1300)),
    ]
    sol = Instrument.objects.get(symbol="SOLUSDT")
    assert sol.max_leverage == 125
    entry = AuditEntry.objects.get(action=AuditEntry.Action.INSTRUMENT_CHANGED)
    assert entry.after["brackets"] == [
        {
            "tier": 1,
            "notional_floor": "0",
            "notional_cap": "50000",
            "max_leverage": 125,
            "maintenance_margin_rate": "0.004",
            "maintenance_amount": "0",
        },
        {
            "tier": 2,
            "notional_floor": "50000",
            "notional_cap": "250000",
            "max_leverage": 100,
            "maintenance_margin_rate": "0.005",
            "maintenance_amount": "50",
        },
        {
            "tier": 3,
            "notional_floor": "250000",
            "notional_cap": "1000000",
            "max_leverage": 50,
            "maintenance_margin_rate": "0.01",
            "maintenance_amount": "1300",
        },
    ]
    # the seed's ten tiers before, 75x at the first
    assert [row["tier"] for row in entry.before["brackets"]] == [row[0] for row in old]
    assert entry.before["brackets"][1]["maintenance_amount"] == "25"
    assert (entry.before["max_leverage"], entry.after["max_leverage"]) == (75, 125)


def test_the_max_leverage_follows_the_first_tier(operator_client):
    # given BTCUSDT's first tier at 125x; the operator lowers it to 50x and drops the other tiers
    rows = [("0", "50000", 50, "0.004"), ("50000", "600000", 40, "0.005")]
    stored = LeverageBracket.objects.filter(instrument__symbol="BTCUSDT").count()

    response = operator_client.post(
        change_url(), form_data(brackets=rows, delete=range(3, stored + 1))
    )

    assert response.status_code == 302, shown_errors(response)
    btc = Instrument.objects.get(symbol="BTCUSDT")
    assert btc.max_leverage == 50
    assert bracket_rows("BTCUSDT") == [
        (1, D(0), D(50000), 50, D("0.004"), D(0)),
        (2, D(50000), D(600000), 40, D("0.005"), D(50)),
    ]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.INSTRUMENT_CHANGED)
    assert (entry.before["max_leverage"], entry.after["max_leverage"]) == (125, 50)


def test_a_new_tier_added_below_the_table_is_appended(operator_client):
    rows = [*THREE_TIERS, ("1000000", "5000000", 20, "0.025")]

    response = operator_client.post(change_url("SOLUSDT"), form_data("SOLUSDT", brackets=rows))

    assert response.status_code == 302, shown_errors(response)
    # 1300 + 1,000,000 x (0.025 - 0.01) = 16300
    assert bracket_rows("SOLUSDT")[-1] == (4, D(1000000), D(5000000), 20, D("0.025"), D(16300))


BAD_TABLES = {
    "gap between tiers": (
        [("0", "50000", 125, "0.004"), ("60000", "250000", 100, "0.005")],
        "Bracket 2 must start where bracket 1 ends.",
    ),
    "first floor not 0": (
        [("10", "50000", 125, "0.004")],
        "The first bracket must start at a notional of 0.",
    ),
    "falling rate": (
        [("0", "50000", 125, "0.004"), ("50000", "250000", 100, "0.003")],
        "Bracket 2 must have a higher maintenance margin rate.",
    ),
    "rising leverage": (
        [("0", "50000", 100, "0.004"), ("50000", "250000", 125, "0.005")],
        "Bracket 2 must not allow more leverage than bracket 1.",
    ),
    "rate x leverage 1": (
        [("0", "50000", 125, "0.008")],
        "Bracket 1: a maintenance margin rate of 0.008 would liquidate a position opened at "
        "125x at once.",
    ),
    "cap below floor": (
        [("0", "50000", 125, "0.004"), ("50000", "40000", 100, "0.005")],
        "Bracket 2's cap must be above its floor of 50000.",
    ),
    "negative floor": (
        [("-1", "50000", 125, "0.004")],
        "Bracket 1's floor must not be negative.",
    ),
    "zero rate": (
        [("0", "50000", 125, "0")],
        "Bracket 1's maintenance rate must be above 0 and below 1.",
    ),
    "leverage above 125": (
        [("0", "50000", 200, "0.004")],
        "Bracket 1's max leverage must be from 1 to 125, not 200.",
    ),
    "every tier deleted": ([], "An instrument has 1 to 20 leverage brackets, not 0."),
}


@pytest.mark.parametrize(("rows", "message"), BAD_TABLES.values(), ids=BAD_TABLES.keys())
def test_a_bad_bracket_table_is_refused_with_the_tier_at_fault_and_changes_nothing(
    operator_client, rows, message
):
    stored = LeverageBracket.objects.filter(instrument__symbol="SOLUSDT").count()
    data = form_data("SOLUSDT", brackets=rows, delete=range(len(rows) + 1, stored + 1))
    before = instrument_state()

    response = operator_client.post(change_url("SOLUSDT"), data)

    assert response.status_code == 400
    assert message in shown_errors(response)
    assert instrument_state() == before


BAD_TERMS = {
    "zero tick": ({"tick_size": "0"}, "Tick size must be greater than 0."),
    "negative tick": ({"tick_size": "-0.1"}, "Tick size must be greater than 0."),
    "zero step": ({"step_size": "0"}, "Step size must be greater than 0."),
    "negative min quantity": ({"min_quantity": "-1"}, "Min quantity must be greater than 0."),
    "negative min notional": ({"min_notional": "-5"}, "Min notional must not be negative."),
    "NaN fee": ({"taker_fee_rate": "NaN"}, "Enter a number."),
    "infinite fee": ({"maker_fee_rate": "Infinity"}, "Enter a number."),
    "negative fee": ({"maker_fee_rate": "-0.0001"}, "Maker fee rate must not be negative."),
    "huge fee": ({"liquidation_fee_rate": "0.5"}, "Liquidation fee rate must be at most 0.1."),
    "default leverage 0": ({"default_leverage": "0"}, "Default leverage must be from 1 to 125"),
    "default leverage above max": (
        {"default_leverage": "126"},
        "Default leverage must be from 1 to 125, not 126.",
    ),
    "unknown margin mode": ({"default_margin_mode": "PORTFOLIO"}, "Select a valid choice."),
    "negative half spread": (
        {"book_half_spread_ticks": "-1"},
        "Ensure this value is greater than or equal to 0.",
    ),
    "level spacing 0": (
        {"book_level_ticks": "0"},
        "Book level ticks must be from 1 to 10000 ticks, not 0.",
    ),
    "empty levels": ({"book_level_quantity": "0"}, "Book level quantity must be greater than 0."),
    "level off the step": (
        {"book_level_quantity": "1.0005"},
        "Book level quantity 1.0005 is not a multiple of the step size 0.001.",
    ),
    "no slippage": (
        {"book_max_slippage_rate": "0"},
        "Book max slippage rate must be above 0 and at most 0.5.",
    ),
    "slippage past half": (
        {"book_max_slippage_rate": "0.6"},
        "Book max slippage rate must be above 0 and at most 0.5.",
    ),
}


@pytest.mark.parametrize(("terms", "message"), BAD_TERMS.values(), ids=BAD_TERMS.keys())
def test_a_bad_term_is_refused_next_to_its_field_and_changes_nothing(
    operator_client, terms, message
):
    before = instrument_state()

    response = operator_client.post(change_url(), form_data(**terms))

    assert response.status_code == 400
    assert message in shown_errors(response)
    assert instrument_state() == before


def test_the_operator_edits_the_order_book_with_an_audit_entry(operator_client):
    response = operator_client.post(
        change_url(),
        form_data(
            book_half_spread_ticks="2",
            book_level_ticks="5",
            book_level_quantity="1.5",
            book_max_slippage_rate="0.02",
        ),
    )

    assert response.status_code == 302, shown_errors(response)
    btc = Instrument.objects.get(symbol="BTCUSDT")
    assert (
        btc.book_half_spread_ticks,
        btc.book_level_ticks,
        btc.book_level_quantity,
        btc.book_max_slippage_rate,
    ) == (2, 5, D("1.5"), D("0.02"))
    entry = AuditEntry.objects.get(action=AuditEntry.Action.INSTRUMENT_CHANGED)
    assert entry.after == {
        "book_half_spread_ticks": 2,
        "book_level_ticks": 5,
        "book_level_quantity": "1.5",
        "book_max_slippage_rate": "0.02",
    }


def test_a_default_leverage_above_the_first_tiers_is_refused(operator_client):
    # given SOLUSDT's new first tier allows 10x; the default leverage of 20x is above it
    rows = [("0", "50000", 10, "0.004")]
    stored = LeverageBracket.objects.filter(instrument__symbol="SOLUSDT").count()
    before = instrument_state()

    response = operator_client.post(
        change_url("SOLUSDT"),
        form_data("SOLUSDT", brackets=rows, delete=range(2, stored + 1), default_leverage="20"),
    )

    assert response.status_code == 400
    assert "Default leverage 20x is above the max leverage of 10x (the first bracket&#x27;s)" in (
        response.content.decode()
    )
    assert instrument_state() == before


# --- creating an instrument ----------------------------------------------------------------


def add_data(**changes) -> dict:
    data = {
        "symbol": "xrpusdt",
        "base_asset": "xrp",
        "quote_asset": "USDT",
        "tick_size": "0.0001",
        "step_size": "0.1",
        "min_quantity": "0.1",
        "min_notional": "5",
        "taker_fee_rate": "0.0005",
        "maker_fee_rate": "0.0002",
        "liquidation_fee_rate": "0.0125",
        "default_leverage": "20",
        "default_margin_mode": "ISOLATED",
        "venue": "BINANCE",
        "book_half_spread_ticks": "1",
        "book_level_ticks": "1",
        "book_level_quantity": "",
        "book_max_slippage_rate": "0.05",
        "brackets-TOTAL_FORMS": "3",
        "brackets-INITIAL_FORMS": "0",
        "brackets-MIN_NUM_FORMS": "0",
        "brackets-MAX_NUM_FORMS": "1000",
    }
    for index, (floor, cap, leverage, rate) in enumerate(THREE_TIERS):
        data.update(
            {
                f"brackets-{index}-notional_floor": floor,
                f"brackets-{index}-notional_cap": cap,
                f"brackets-{index}-max_leverage": str(leverage),
                f"brackets-{index}-maintenance_margin_rate": rate,
            }
        )
    data.update(changes)
    return data


def test_the_operator_adds_an_instrument_with_its_table_and_an_audit_entry(
    operator_client, operator
):
    response = operator_client.post(ADD, add_data())

    assert response.status_code == 302, shown_errors(response)
    xrp = Instrument.objects.get(symbol="XRPUSDT")
    assert (xrp.base_asset, xrp.quote_asset, xrp.status) == ("XRP", "USDT", "TRADING")
    assert (xrp.tick_size, xrp.max_leverage, xrp.default_margin_mode) == (
        D("0.0001"),
        125,
        "ISOLATED",
    )
    assert [row[5] for row in bracket_rows("XRPUSDT")] == [D(0), D(50), D(1300)]
    # no depth given: 1000 minimum quantities of 0.1 a level
    assert xrp.book_level_quantity == D("100")
    entry = AuditEntry.objects.get(action=AuditEntry.Action.INSTRUMENT_CREATED)
    assert (entry.actor, entry.target_label, entry.before) == (operator, "XRPUSDT", None)
    assert entry.after["tick_size"] == "0.0001"
    assert entry.after["brackets"][2]["maintenance_amount"] == "1300"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"symbol": "BTCUSDT", "base_asset": "BTC"}, "Instrument with this Symbol already exists."),
        ({"quote_asset": "BUSD"}, "the quote asset must be USDT"),
        ({"symbol": "XRPUSDC"}, "The symbol must be the base asset followed by the quote asset"),
        ({"symbol": "XRPUSDT--X"}, "in parts joined by single hyphens"),
        ({"symbol": "XRPX-BYBIT"}, "The symbol must be the base asset followed by the quote asset"),
        ({"brackets-1-notional_floor": "60000"}, "Bracket 2 must start where bracket 1 ends."),
    ],
    ids=["taken symbol", "not USDT", "symbol not base + quote", "double hyphen", "tag", "gap"],
)
def test_a_bad_new_instrument_is_refused_and_nothing_is_created(operator_client, changes, message):
    before = instrument_state()

    response = operator_client.post(ADD, add_data(**changes))

    assert response.status_code == 400
    assert message in html.unescape(shown_errors(response))
    assert instrument_state() == before


# --- halt and resume -----------------------------------------------------------------------


def test_the_operator_halts_trading_with_a_reason_in_the_audit_log(operator_client, operator):
    response = halt(operator_client, ["BTCUSDT"])

    assert response.status_code == 302
    assert status("BTCUSDT") == "HALTED"
    assert status("ETHUSDT") == "TRADING"
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.target_label, entry.reason) == (
        AuditEntry.Action.TRADING_HALTED,
        operator,
        "BTCUSDT",
        "Exchange maintenance drill",
    )
    assert (entry.before, entry.after) == ({"status": "TRADING"}, {"status": "HALTED"})


def test_the_halt_asks_for_a_reason_first(operator_client):
    ids = [Instrument.objects.get(symbol="BTCUSDT").pk]

    response = operator_client.post(CHANGELIST, {"action": "halt", "_selected_action": ids})

    assert response.status_code == 200
    assert 'name="reason"' in response.content.decode()
    assert status() == "TRADING"


@pytest.mark.parametrize("reason", ["", "   ", "tab\there"], ids=["empty", "blank", "control"])
def test_a_halt_without_a_proper_reason_is_refused_and_changes_nothing(operator_client, reason):
    before = instrument_state()

    response = halt(operator_client, ["BTCUSDT"], reason=reason)

    assert response.status_code == 400
    assert instrument_state() == before


def test_halting_a_halted_instrument_is_refused(operator_client):
    halt(operator_client, ["BTCUSDT"])
    before = instrument_state()

    response = halt(operator_client, ["BTCUSDT"])

    assert response.status_code == 409
    assert "Trading in BTCUSDT is already halted." in response.content.decode()
    assert instrument_state() == before


def test_the_operator_resumes_trading(operator_client, operator):
    halt(operator_client, ["BTCUSDT", "ETHUSDT"])

    response = halt(operator_client, ["BTCUSDT"], reason="Maintenance over", action="resume")

    assert response.status_code == 302
    assert (status("BTCUSDT"), status("ETHUSDT")) == ("TRADING", "HALTED")
    entry = AuditEntry.objects.filter(action=AuditEntry.Action.TRADING_RESUMED).get()
    assert (entry.before, entry.after, entry.reason) == (
        {"status": "HALTED"},
        {"status": "TRADING"},
        "Maintenance over",
    )


def test_resuming_a_trading_instrument_is_refused(operator_client):
    before = instrument_state()

    response = halt(operator_client, ["BTCUSDT"], action="resume")

    assert response.status_code == 409
    assert "Trading in BTCUSDT is already open." in response.content.decode()
    assert instrument_state() == before


# --- permissions ---------------------------------------------------------------------------


def test_support_sees_the_instruments_read_only_and_is_offered_no_action(support_client):
    listing = support_client.get(CHANGELIST)
    page = support_client.get(change_url())

    assert listing.status_code == page.status_code == 200
    assert 'value="halt"' not in listing.content.decode()
    assert 'name="tick_size"' not in page.content.decode()
    assert 'name="brackets-0-notional_floor"' not in page.content.decode()


def test_support_cannot_edit_or_add_an_instrument(support_client):
    before = instrument_state()

    edit = support_client.post(change_url(), form_data(tick_size="0.5"))
    add = support_client.post(ADD, add_data())

    assert (edit.status_code, add.status_code) == (403, 403)
    assert instrument_state() == before


@pytest.mark.parametrize("action", ["halt", "resume"])
def test_support_forging_a_halt_or_resume_is_refused_and_changes_nothing(support_client, action):
    before = instrument_state()

    response = halt(support_client, ["BTCUSDT"], action=action)

    assert response.status_code == 403
    assert instrument_state() == before


def test_a_non_staff_user_gets_no_instrument_page(trader_client):
    before = instrument_state()

    for response in (
        trader_client.get(CHANGELIST),
        trader_client.get(change_url()),
        trader_client.post(change_url(), form_data(tick_size="0.5")),
        halt(trader_client, ["BTCUSDT"]),
    ):
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))
    assert instrument_state() == before


def test_no_one_deletes_an_instrument(operator_client):
    response = operator_client.post(
        reverse(
            "admin:trading_instrument_delete", args=[Instrument.objects.get(symbol="BTCUSDT").pk]
        ),
        {"post": "yes"},
    )

    assert response.status_code == 403
    assert Instrument.objects.filter(symbol="BTCUSDT").exists()
    assert Position.objects.count() == 0


def test_a_staff_member_with_only_the_halt_permission_halts_but_cannot_edit(make_trader):
    desk = make_trader("desk")
    desk.is_staff = True
    desk.save(update_fields=["is_staff"])
    desk.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="trading", codename__in=["view_instrument", "halt_instrument"]
        )
    )
    client = Client()
    client.force_login(desk)

    edit = client.post(change_url(), form_data(tick_size="0.5"))
    halted = halt(client, ["BTCUSDT"])

    assert edit.status_code == 403
    assert halted.status_code == 302
    btc = Instrument.objects.get(symbol="BTCUSDT")
    assert (btc.status, btc.tick_size) == ("HALTED", D("0.1"))


def test_the_operator_moves_an_instrument_to_another_venues_rules_with_an_audit_entry(
    operator_client,
):
    # when the operator sets BTCUSDT to Bybit's rules
    response = operator_client.post(change_url(), form_data(venue="BYBIT"))

    # then it follows them, and the audit log says so
    assert response.status_code == 302
    assert Instrument.objects.get(symbol="BTCUSDT").venue == "BYBIT"
    entry = AuditEntry.objects.filter(action="INSTRUMENT_CHANGED").latest("pk")
    assert (entry.before["venue"], entry.after["venue"]) == ("BINANCE", "BYBIT")


def test_hyperliquid_rules_need_maintenance_rates_of_half_the_initial_rate(
    operator_client, unchanged
):
    # given BTCUSDT's Binance table: tiers 1 and 2 (125x at 0.4 %, 100x at 0.5 %) happen to be
    # half their initial rates, but tier 3 is 75x at 0.65 %, not 1 / 150 = 0.66666667 %
    # when the operator moves it to Hyperliquid's rules; then it is refused
    with unchanged():
        response = operator_client.post(change_url(), form_data(venue="HYPERLIQUID"))
    assert response.status_code == 400
    assert "on Hyperliquid&#x27;s rules the maintenance margin rate is half" in (
        response.content.decode()
    )
    assert Instrument.objects.get(symbol="BTCUSDT").venue == "BINANCE"
