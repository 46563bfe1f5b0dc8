"""Market data through the native API: the marks (with the live feed's funding rate) and the
1-minute candles of the chart.

Seeded marks: BTCUSDT 60,000, ETHUSDT 3,000, SOLUSDT 150 (source "seed")."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from trading.models import Instrument, MarkPrice, PriceCandle
from trading.services import mark_price_set

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def candles(count: int, *, symbol="BTCUSDT"):
    """``count`` minutes up to 12:00 UTC: the close of the minute m minutes before noon is
    60,000 - m, its open 10 more, its high 20 more and its low 5 less."""
    instrument = Instrument.objects.get(symbol=symbol)
    for minutes_before in range(count):
        close = Decimal(60000 - minutes_before)
        PriceCandle.objects.create(
            instrument=instrument,
            opened_at=NOON - timedelta(minutes=minutes_before),
            open=close + 10,
            high=close + 20,
            low=close - 5,
            close=close,
        )


def test_the_marks_list_every_instrument_with_price_and_source(signed):
    mark_price_set(symbol="ETHUSDT", price="3012.5")

    marks = signed.get("/api/v1/marks").json()

    assert [(m["symbol"], m["price"], m["source"], m["funding_rate"]) for m in marks] == [
        ("BTCUSDT", "60000.00000000", "seed", None),
        ("ETHUSDT", "3012.50000000", "manual", None),
        ("SOLUSDT", "150.00000000", "seed", None),
    ]
    assert all(m["updated_at"] for m in marks)


def test_a_live_mark_shows_the_exchanges_funding_rate_and_a_stale_one_shows_none(signed):
    # given a live BTCUSDT mark with the exchange's rate, and an ETHUSDT rate left from an
    # earlier live spell under a simulated mark (funding ignores it, so the API does too)
    MarkPrice.objects.filter(instrument__symbol="BTCUSDT").update(
        source="live", funding_rate=Decimal("0.00025")
    )
    MarkPrice.objects.filter(instrument__symbol="ETHUSDT").update(
        source="simulated", funding_rate=Decimal("0.005")
    )

    btc = signed.get("/api/v1/marks/BTCUSDT").json()
    eth = signed.get("/api/v1/marks/ethusdt").json()

    assert (btc["symbol"], btc["source"], btc["funding_rate"]) == ("BTCUSDT", "live", "0.00025000")
    assert (eth["symbol"], eth["source"], eth["funding_rate"]) == ("ETHUSDT", "simulated", None)


def test_an_unknown_symbol_has_no_mark(signed):
    response = signed.get("/api/v1/marks/DOGEUSDT")

    assert response.status_code == 404
    assert response.json() == {
        "code": "UNKNOWN_SYMBOL",
        "message": "Unknown symbol 'DOGEUSDT'.",
        "field": "symbol",
        "reason": None,
    }


def test_an_instrument_the_feed_has_not_priced_yet_says_so(signed):
    MarkPrice.objects.filter(instrument__symbol="SOLUSDT").delete()

    response = signed.get("/api/v1/marks/SOLUSDT")

    assert response.status_code == 409
    assert response.json() == {
        "code": "NO_MARK_PRICE",
        "message": "SOLUSDT has no mark price yet.",
        "field": "symbol",
        "reason": None,
    }
    assert [m["symbol"] for m in signed.get("/api/v1/marks").json()] == ["BTCUSDT", "ETHUSDT"]


def test_candles_are_the_last_minutes_oldest_first(signed):
    candles(5)
    candles(2, symbol="ETHUSDT")

    response = signed.get("/api/v1/candles/BTCUSDT?limit=3")

    assert response.status_code == 200
    assert response.json() == [
        {
            "opened_at": "2026-03-02T11:58:00Z",
            "open": "60008.00000000",
            "high": "60018.00000000",
            "low": "59993.00000000",
            "close": "59998.00000000",
        },
        {
            "opened_at": "2026-03-02T11:59:00Z",
            "open": "60009.00000000",
            "high": "60019.00000000",
            "low": "59994.00000000",
            "close": "59999.00000000",
        },
        {
            "opened_at": "2026-03-02T12:00:00Z",
            "open": "60010.00000000",
            "high": "60020.00000000",
            "low": "59995.00000000",
            "close": "60000.00000000",
        },
    ]


def test_without_a_limit_the_candles_are_the_charts_240_minutes(signed):
    candles(241)

    answer = signed.get("/api/v1/candles/BTCUSDT").json()

    assert len(answer) == 240
    assert answer[0]["opened_at"] == "2026-03-02T08:01:00Z"
    assert signed.get("/api/v1/candles/ETHUSDT").json() == []


@pytest.mark.parametrize(
    ("limit", "message"),
    [
        ("0", "Ensure this value is greater than or equal to 1."),
        ("1001", "Ensure this value is less than or equal to 1000."),
        ("ten", "A valid integer is required."),
        ("2.5", "A valid integer is required."),
    ],
)
def test_a_bad_candle_limit_is_a_400(signed, limit, message):
    response = signed.get(f"/api/v1/candles/BTCUSDT?limit={limit}")

    assert response.status_code == 400
    assert response.json() == {
        "code": "INVALID_INPUT",
        "message": message,
        "field": "limit",
        "reason": None,
    }


def test_candles_of_an_unknown_symbol_are_a_404(signed):
    response = signed.get("/api/v1/candles/DOGEUSDT?limit=10")

    assert response.status_code == 404
    assert response.json()["code"] == "UNKNOWN_SYMBOL"


def test_each_instrument_says_which_venue_s_rules_it_follows_and_how_often_it_funds(
    signed, venue_market
):
    rows = {row["symbol"]: row for row in signed.get("/api/v1/instruments").json()}

    assert {
        symbol: (row["venue"], row["funding_interval_seconds"]) for symbol, row in rows.items()
    } == {
        "BTCUSDT": ("BINANCE", "28800"),
        "ETHUSDT": ("BINANCE", "28800"),
        "SOLUSDT": ("BINANCE", "28800"),
        "BTCUSDT-BYBIT": ("BYBIT", "28800"),
        "BTCUSDT-HL": ("HYPERLIQUID", "3600"),
    }
    assert (
        rows["BTCUSDT"]["liquidation_fee_rate"],
        rows["BTCUSDT-HL"]["liquidation_fee_rate"],
    ) == (
        "0.01250000",
        "0.00000000",
    )
