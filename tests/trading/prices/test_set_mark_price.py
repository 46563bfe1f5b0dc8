"""manage.py set_mark_price: the operator's price holds, whatever the feed, until --release; a bad
input is refused with a clear message and changes nothing."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from trading.models import FeedStatus, MarkPrice, PriceCandle
from trading.services import prices_tick

NOW = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)


def set_mark_price(*args) -> str:
    out = StringIO()
    call_command("set_mark_price", *args, stdout=out)
    return out.getvalue()


def btc() -> tuple[Decimal, str, bool]:
    mark = MarkPrice.objects.get(instrument__symbol="BTCUSDT")
    return mark.price, mark.source, mark.held


def prices_state() -> dict:
    return {
        "marks": list(MarkPrice.objects.order_by("pk").values_list("price", "source", "held")),
        "candles": PriceCandle.objects.count(),
        "status": list(FeedStatus.objects.values_list("name", "source", "last_tick_at")),
    }


def test_set_mark_price_sets_a_manual_price_that_holds(market):
    said = set_mark_price("BTCUSDT", "25000")

    assert btc() == (Decimal("25000"), "manual", True)
    assert "BTCUSDT mark price set to 25000" in said
    assert "set_mark_price BTCUSDT --release" in said


def test_a_held_price_survives_feed_ticks_and_moves_again_once_released(market, settings):
    settings.PRICE_FEED = "simulated"
    set_mark_price("btcusdt", "25000.5")

    prices_tick(now=NOW)
    assert btc() == (Decimal("25000.5"), "manual", True)

    said = set_mark_price("BTCUSDT", "--release")
    assert "BTCUSDT released at 25000.5" in said
    assert btc() == (Decimal("25000.5"), "manual", False)  # the price stays until the next tick

    prices_tick(now=NOW + timedelta(seconds=1))
    price, source, held = btc()
    assert (source, held) == ("simulated", False)
    assert price != Decimal("25000.5")
    assert abs(price / Decimal("25000.5") - 1) < Decimal("0.01")  # the walk went on from it


def test_releasing_a_price_that_is_not_held_changes_nothing(market):
    before = prices_state()

    set_mark_price("BTCUSDT", "--release")

    assert prices_state() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("DOGEUSDT", "25000"), "Unknown symbol 'DOGEUSDT'"),
        (("BTC/USDT", "25000"), "Symbol must be a symbol such as BTCUSDT"),
        (("BTCUSDT", "abc"), "Price must be a number, not 'abc'"),
        (("BTCUSDT", "-5"), "A mark price must be at least one tick (0.1)"),
        (("BTCUSDT", "0"), "A mark price must be at least one tick (0.1)"),
        (("BTCUSDT", "nan"), "Price must be a finite number"),
        (("BTCUSDT", "1.123456789"), "Price has more than 8 decimal places"),
        (("BTCUSDT",), "Give either a price or --release"),
        (("BTCUSDT", "25000", "--release"), "Give either a price or --release"),
        (("DOGEUSDT", "--release"), "Unknown symbol 'DOGEUSDT'"),
    ],
)
def test_a_bad_input_is_refused_with_a_clear_message_and_changes_nothing(market, args, message):
    before = prices_state()

    with pytest.raises(CommandError) as refusal:
        set_mark_price(*args)

    assert message in str(refusal.value)
    assert prices_state() == before
