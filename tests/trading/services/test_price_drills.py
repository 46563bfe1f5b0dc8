"""Price drills: price_drill_start holds the mark at its price (source drill); each prices_tick
writes the drill's price at its time, whatever the feed, and the sweep after it liquidates whom
the move reaches; at the end the start price is back and the feed moves the mark again. A manual
price or a release cancels the drill. The operator's price services write the audit log in the
same transaction; every refusal changes nothing.

Seeded market: BTCUSDT mark 60,000 (tick 0.1), ETHUSDT 3,000, SOLUSDT 150; every trader starts
with 10,000 USDT."""

import contextlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from marginsite.errors import ApplicationError
from trading.errors import DrillRunning, InvalidPrice, MarkNotHeld, NoMarkPrice, UnknownSymbol
from trading.models import AuditEntry, LiquidationEvent, MarkPrice, Position, PriceDrill
from trading.prices import FeedError
from trading.services import (
    leverage_set,
    mark_price_override,
    mark_price_override_release,
    mark_price_release,
    mark_price_set,
    order_place,
    price_drill_start,
    prices_tick,
    sweep_run,
)

pytestmark = pytest.mark.django_db

D = Decimal
T0 = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser(username="operator", password="pw-0123456789")


def btc() -> tuple[Decimal, str, bool]:
    mark = MarkPrice.objects.get(instrument__symbol="BTCUSDT")
    return mark.price, mark.source, mark.held


def drills() -> list[tuple]:
    return list(PriceDrill.objects.order_by("pk").values_list("instrument__symbol", "status"))


def audit_rows() -> list[tuple]:
    return list(
        AuditEntry.objects.order_by("pk").values_list(
            "actor_username", "action", "target_type", "target_label", "before", "after", "reason"
        )
    )


@pytest.fixture
def nothing_changes(unchanged):
    """unchanged(), and also every mark's hold, every drill and the audit log as they were."""

    @contextlib.contextmanager
    def guard():
        before = (
            list(MarkPrice.objects.order_by("pk").values_list("price", "source", "held")),
            list(PriceDrill.objects.order_by("pk").values()),
            AuditEntry.objects.count(),
        )
        with unchanged():
            yield
        assert (
            list(MarkPrice.objects.order_by("pk").values_list("price", "source", "held")),
            list(PriceDrill.objects.order_by("pk").values()),
            AuditEntry.objects.count(),
        ) == before

    return guard


def drop_btc_20_percent_over_60s(operator, **kwargs):
    return price_drill_start(
        operator=operator,
        symbol="BTCUSDT",
        move_percent="-20",
        seconds=60,
        reason="crash rehearsal",
        now=T0,
        **kwargs,
    )


# --- starting ------------------------------------------------------------------------------


def test_starting_a_drill_holds_the_mark_at_its_price_and_records_it(market, operator):
    drill = drop_btc_20_percent_over_60s(operator)

    assert btc() == (D("60000"), "drill", True)
    drill.refresh_from_db()
    assert (drill.instrument.symbol, drill.start_price, drill.move_percent, drill.seconds) == (
        "BTCUSDT",
        D("60000"),
        D("-20"),
        60,
    )
    assert (drill.status, drill.started_by, drill.started_at, drill.ended_at) == (
        "RUNNING",
        operator,
        T0,
        None,
    )
    assert audit_rows() == [
        (
            "operator",
            "PRICE_DRILL_STARTED",
            "trading.PriceDrill",
            "BTCUSDT drill -20 % over 60 s",
            {"price": "60000", "source": "seed", "held": False},
            {
                "price": "60000",
                "source": "drill",
                "held": True,
                "move_percent": "-20",
                "seconds": 60,
                "started_at": "2026-01-05T12:00:00+00:00",
            },
            "crash rehearsal",
        )
    ]


def test_a_drill_starts_from_a_held_manual_price(market, operator):
    mark_price_set(symbol="BTCUSDT", price="50000")

    drill = drop_btc_20_percent_over_60s(operator)

    assert drill.start_price == D("50000")
    assert btc() == (D("50000"), "drill", True)


@pytest.mark.parametrize(
    ("move_percent", "seconds", "reason", "error", "field"),
    [
        ("0", 60, "r", ApplicationError, "move_percent"),
        ("-100", 60, "r", ApplicationError, "move_percent"),
        ("-99.5", 60, "r", ApplicationError, "move_percent"),
        ("900.01", 60, "r", ApplicationError, "move_percent"),
        ("-20.00001", 60, "r", ApplicationError, "move_percent"),
        ("NaN", 60, "r", ApplicationError, "move_percent"),
        ("1e400", 60, "r", ApplicationError, "move_percent"),
        ("abc", 60, "r", ApplicationError, "move_percent"),
        (-20.0, 60, "r", ApplicationError, "move_percent"),
        ("-20", 0, "r", ApplicationError, "seconds"),
        ("-20", "0", "r", ApplicationError, "seconds"),
        ("-20", 3601, "r", ApplicationError, "seconds"),
        ("-20", "9" * 5000, "r", ApplicationError, "seconds"),
        ("-20", "1.5", "r", ApplicationError, "seconds"),
        ("-20", "-5", "r", ApplicationError, "seconds"),
        ("-20", True, "r", ApplicationError, "seconds"),
        ("-20", 60, "", ApplicationError, "reason"),
        ("-20", 60, "   ", ApplicationError, "reason"),
        ("-20", 60, "x" * 301, ApplicationError, "reason"),
    ],
)
def test_a_bad_drill_is_refused_with_its_field_and_changes_nothing(
    market, operator, nothing_changes, move_percent, seconds, reason, error, field
):
    with nothing_changes(), pytest.raises(error) as refused:
        price_drill_start(
            operator=operator,
            symbol="BTCUSDT",
            move_percent=move_percent,
            seconds=seconds,
            reason=reason,
        )

    assert refused.value.status == 400
    assert refused.value.field == field


def test_a_second_drill_on_the_same_instrument_is_refused(market, operator, nothing_changes):
    drop_btc_20_percent_over_60s(operator)

    with nothing_changes(), pytest.raises(DrillRunning) as refused:
        drop_btc_20_percent_over_60s(operator)

    assert refused.value.status == 409
    assert "A drill already runs on BTCUSDT" in refused.value.message


def test_drills_on_two_instruments_run_side_by_side(market, operator, settings):
    settings.PRICE_FEED = "manual"
    drop_btc_20_percent_over_60s(operator)
    price_drill_start(
        operator=operator, symbol="ETHUSDT", move_percent="15", seconds=10, reason="r", now=T0
    )

    prices_tick(now=T0 + timedelta(seconds=5))

    assert MarkPrice.objects.get(instrument__symbol="ETHUSDT").price == D("3225")  # +7.5 %
    assert btc() == (D("59000"), "drill", True)


def test_a_drill_without_a_mark_or_on_an_unknown_symbol_is_refused(
    market, operator, nothing_changes
):
    MarkPrice.objects.filter(instrument__symbol="SOLUSDT").delete()

    with nothing_changes(), pytest.raises(NoMarkPrice):
        price_drill_start(
            operator=operator, symbol="SOLUSDT", move_percent="-20", seconds=60, reason="r"
        )
    with nothing_changes(), pytest.raises(UnknownSymbol):
        price_drill_start(
            operator=operator, symbol="DOGEUSDT", move_percent="-20", seconds=60, reason="r"
        )


# --- the ticks -----------------------------------------------------------------------------


@pytest.mark.parametrize("feed", ["manual", "simulated"])
def test_each_tick_writes_the_drills_price_and_the_last_puts_the_start_back(
    market, operator, settings, feed
):
    settings.PRICE_FEED = feed
    drill = drop_btc_20_percent_over_60s(operator)
    path = []

    for second in (0, 15, 30, 60, 90, 119):
        changed = prices_tick(now=T0 + timedelta(seconds=second))
        path.append(btc())
        assert "BTCUSDT" in changed or second == 0

    assert path == [
        (D("60000"), "drill", True),
        (D("57000"), "drill", True),
        (D("54000"), "drill", True),
        (D("48000"), "drill", True),
        (D("54000"), "drill", True),
        (D("59800"), "drill", True),
    ]
    prices_tick(now=T0 + timedelta(seconds=120))
    assert btc() == (D("60000"), "drill", False)
    drill.refresh_from_db()
    assert (drill.status, drill.ended_at) == ("DONE", T0 + timedelta(seconds=120))


def test_the_feed_moves_the_mark_again_from_the_tick_after_the_drill(market, operator, settings):
    settings.PRICE_FEED = "simulated"
    drop_btc_20_percent_over_60s(operator)
    prices_tick(now=T0 + timedelta(seconds=120))
    assert btc() == (D("60000"), "drill", False)

    prices_tick(now=T0 + timedelta(seconds=121))

    price, source, held = btc()
    assert (source, held) == ("simulated", False)
    assert price != D("60000")


def test_a_drill_moves_on_while_the_feed_fails(market, operator, monkeypatch):
    class Failing:
        source = MarkPrice.Source.LIVE

        def next_marks(self, instruments, now):
            raise FeedError("exchange unreachable")

    monkeypatch.setattr("trading.services.ticks.feed_get", Failing)
    drop_btc_20_percent_over_60s(operator)

    prices_tick(now=T0 + timedelta(seconds=30))

    assert btc() == (D("54000"), "drill", True)


def test_a_tick_that_runs_twice_at_one_moment_writes_the_same_price(market, operator, settings):
    settings.PRICE_FEED = "manual"
    drop_btc_20_percent_over_60s(operator)
    prices_tick(now=T0 + timedelta(seconds=30))

    assert prices_tick(now=T0 + timedelta(seconds=30)) == []
    assert btc() == (D("54000"), "drill", True)


def test_liquidations_follow_the_drill(market, operator, make_trader, settings, balanced_ledger):
    """A 50x isolated long (0.1 BTC at 60,000: margin 120, maintenance 0.4 %) is liquidated on
    the way down, at the first tick its margin balance reaches its maintenance margin; a 2x one
    (margin 3,000) survives the whole -20 % and the mark ends back at 60,000, released."""
    settings.PRICE_FEED = "manual"
    risky, careful = make_trader("risky"), make_trader("careful")
    for user, leverage in ((risky, 50), (careful, 2)):
        leverage_set(user=user, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=leverage)
        order_place(user=user, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")
    drop_btc_20_percent_over_60s(operator)

    def status(user):
        return Position.objects.get(user=user, instrument__symbol="BTCUSDT").status

    prices_tick(now=T0 + timedelta(seconds=3))  # 59,400: margin balance 120 - 60 = 60 > 23.76
    sweep_run()
    assert (btc()[0], status(risky), status(careful)) == (D("59400"), "OPEN", "OPEN")

    prices_tick(now=T0 + timedelta(seconds=6))  # 58,800: margin balance 0 <= 23.52
    sweep_run()
    assert (btc()[0], status(risky), status(careful)) == (D("58800"), "LIQUIDATED", "OPEN")
    event = LiquidationEvent.objects.get()
    assert (event.user, event.margin_mode) == (risky, "ISOLATED")
    assert (event.margin_balance, event.maintenance_margin) == (D("0"), D("23.52"))

    for second in (30, 60, 90):  # down to 48,000 and half way back
        prices_tick(now=T0 + timedelta(seconds=second))
        sweep_run()
    assert (status(careful), LiquidationEvent.objects.count()) == ("OPEN", 1)

    prices_tick(now=T0 + timedelta(seconds=120))
    sweep_run()
    assert btc() == (D("60000"), "drill", False)
    assert PriceDrill.objects.get().status == "DONE"
    assert status(careful) == "OPEN"


# --- the operator's price and the release --------------------------------------------------


def test_an_operators_price_holds_and_is_recorded_with_before_and_after(market, operator):
    mark = mark_price_override(operator=operator, symbol="BTCUSDT", price="52000.5", reason="news")

    assert (mark.price, mark.source, mark.held) == (D("52000.5"), "manual", True)
    assert btc() == (D("52000.5"), "manual", True)
    assert audit_rows() == [
        (
            "operator",
            "MARK_PRICE_SET",
            "trading.MarkPrice",
            "BTCUSDT mark price",
            {"price": "60000", "source": "seed", "held": False},
            {"price": "52000.5", "source": "manual", "held": True},
            "news",
        )
    ]


def test_an_operators_price_during_a_drill_cancels_it(market, operator, settings):
    settings.PRICE_FEED = "manual"
    drill = drop_btc_20_percent_over_60s(operator)
    prices_tick(now=T0 + timedelta(seconds=30))

    mark_price_override(operator=operator, symbol="BTCUSDT", price="55000", reason="take over")

    drill.refresh_from_db()
    assert drill.status == "CANCELED"
    assert drill.ended_at is not None
    entry = AuditEntry.objects.get(action="MARK_PRICE_SET")
    assert (entry.before, entry.after) == (
        {
            "price": "54000",
            "source": "drill",
            "held": True,
            "drill": {"id": drill.pk, "status": "RUNNING"},
        },
        {
            "price": "55000",
            "source": "manual",
            "held": True,
            "drill": {"id": drill.pk, "status": "CANCELED"},
        },
    )
    prices_tick(now=T0 + timedelta(seconds=60))
    assert btc() == (D("55000"), "manual", True)  # the drill no longer moves it


@pytest.mark.parametrize("price", ["0", "-1", "0.05", "NaN", "Infinity", "1e400", "abc", ""])
def test_a_bad_operators_price_is_refused_and_changes_nothing(
    market, operator, nothing_changes, price
):
    with nothing_changes(), pytest.raises(InvalidPrice) as refused:
        mark_price_override(operator=operator, symbol="BTCUSDT", price=price, reason="r")

    assert refused.value.status == 400


def test_an_operators_price_without_a_reason_is_refused(market, operator, nothing_changes):
    with nothing_changes(), pytest.raises(ApplicationError) as refused:
        mark_price_override(operator=operator, symbol="BTCUSDT", price="50000", reason=" ")

    assert refused.value.field == "reason"


def test_releasing_a_manual_price_lets_the_feed_move_it_and_is_recorded(market, operator):
    mark_price_set(symbol="BTCUSDT", price="50000")

    mark = mark_price_override_release(operator=operator, symbol="BTCUSDT", reason="done")

    assert (mark.price, mark.source, mark.held) == (D("50000"), "manual", False)
    assert audit_rows() == [
        (
            "operator",
            "MARK_PRICE_RELEASED",
            "trading.MarkPrice",
            "BTCUSDT mark price",
            {"price": "50000", "source": "manual", "held": True},
            {"price": "50000", "source": "manual", "held": False},
            "done",
        )
    ]


def test_releasing_during_a_drill_cancels_it_and_the_feed_moves_the_mark_again(
    market, operator, settings
):
    settings.PRICE_FEED = "simulated"
    drill = drop_btc_20_percent_over_60s(operator)
    prices_tick(now=T0 + timedelta(seconds=30))

    mark_price_override_release(operator=operator, symbol="BTCUSDT", reason="enough")

    drill.refresh_from_db()
    assert drill.status == "CANCELED"
    assert btc() == (D("54000"), "drill", False)
    entry = AuditEntry.objects.get(action="MARK_PRICE_RELEASED")
    assert entry.after["drill"] == {"id": drill.pk, "status": "CANCELED"}
    prices_tick(now=T0 + timedelta(seconds=31))
    price, source, held = btc()
    assert (source, held) == ("simulated", False)
    assert abs(price / D("54000") - 1) < D("0.01")  # the walk goes on from the drill's price


def test_releasing_a_mark_nothing_holds_is_refused(market, operator, nothing_changes):
    with nothing_changes(), pytest.raises(MarkNotHeld) as refused:
        mark_price_override_release(operator=operator, symbol="BTCUSDT", reason="r")

    assert refused.value.status == 409
    assert refused.value.message == "BTCUSDT's mark is not held: the price feed already moves it."


def test_the_command_services_cancel_a_running_drill_too(market, operator):
    first = drop_btc_20_percent_over_60s(operator)
    mark_price_set(symbol="BTCUSDT", price="58000")
    second = drop_btc_20_percent_over_60s(operator)
    mark_price_release(symbol="BTCUSDT")

    assert list(
        PriceDrill.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True)
    ) == ["CANCELED", "CANCELED"]
    assert btc() == (D("58000"), "drill", False)
    assert drills() == [("BTCUSDT", "CANCELED"), ("BTCUSDT", "CANCELED")]


def test_no_one_but_a_drill_writes_a_drill_price(market, nothing_changes):
    with nothing_changes(), pytest.raises(InvalidPrice):
        mark_price_set(symbol="BTCUSDT", price="50000", source="drill")
