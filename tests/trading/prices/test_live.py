"""The live feed reads Binance USD-M's premiumIndex through ccxt, here from a local stand-in that
serves a recorded answer; a failed fetch keeps the last prices and says so in the feed status."""

import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from trading.models import FeedStatus, MarkPrice
from trading.prices import FeedError, InstrumentMark
from trading.prices.live import LiveFeed
from trading.services import prices_tick

NOW = datetime(2026, 1, 5, 12, 0, 30, tzinfo=UTC)
INSTRUMENTS = [
    InstrumentMark("BTCUSDT", Decimal("0.10"), Decimal("60000")),
    InstrumentMark("ETHUSDT", Decimal("0.01"), Decimal("3000")),
    InstrumentMark("SOLUSDT", Decimal("0.01"), Decimal("150")),
]
BINANCE_ERROR = b'{"code":-1000,"msg":"An unknown error occured while processing the request."}'


def marks() -> dict:
    return {m.instrument.symbol: (m.price, m.source) for m in MarkPrice.objects.all()}


def test_live_feed_reads_every_mark_from_premium_index_as_exact_decimals(binance):
    found = LiveFeed(base_url=binance.url).next_marks(INSTRUMENTS, NOW)

    assert found == {
        "BTCUSDT": Decimal("61234.56789012"),
        "ETHUSDT": Decimal("3012.34"),
        "SOLUSDT": Decimal("151.2345"),
    }
    assert all(isinstance(price, Decimal) for price in found.values())
    assert binance.paths == ["/fapi/v1/premiumIndex"]


def test_live_feed_keeps_each_symbols_funding_rate_from_the_same_answer(binance):
    feed = LiveFeed(base_url=binance.url)

    feed.next_marks(INSTRUMENTS, NOW)

    assert feed.funding_rates() == {
        "BTCUSDT": Decimal("0.0001"),
        "ETHUSDT": Decimal("0.00008791"),
        "SOLUSDT": Decimal("0.0001"),
    }
    assert binance.paths == ["/fapi/v1/premiumIndex"]


@pytest.mark.parametrize("rate", ['"often"', "0.0001", '"2"', '"NaN"', "null"])
def test_live_feed_leaves_out_a_funding_rate_it_cannot_read_but_keeps_the_mark(binance, rate):
    binance.body = f'[{{"symbol": "BTCUSDT", "markPrice": "61000", "lastFundingRate": {rate}}}]'
    binance.body = binance.body.encode()
    feed = LiveFeed(base_url=binance.url)

    assert feed.next_marks(INSTRUMENTS, NOW) == {"BTCUSDT": Decimal("61000")}
    assert feed.funding_rates() == {}


def test_live_feed_ignores_symbols_without_an_instrument_and_skips_instruments_it_lacks(binance):
    only_btc_and_doge = [INSTRUMENTS[0], InstrumentMark("DOGEUSDT", Decimal("0.00001"), None)]

    found = LiveFeed(base_url=binance.url).next_marks(only_btc_and_doge, NOW)

    assert found == {"BTCUSDT": Decimal("61234.56789012")}


def test_live_feed_rounds_a_mark_with_more_than_eight_decimals_to_the_column(binance):
    binance.body = b'[{"symbol": "BTCUSDT", "markPrice": "61234.567890125"}]'

    found = LiveFeed(base_url=binance.url).next_marks(INSTRUMENTS, NOW)

    assert found == {"BTCUSDT": Decimal("61234.56789012")}


def test_live_feed_says_what_failed_when_the_exchange_answers_500(binance):
    binance.status, binance.body = 500, BINANCE_ERROR

    with pytest.raises(FeedError, match="An unknown error occured"):
        LiveFeed(base_url=binance.url).next_marks(INSTRUMENTS, NOW)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"symbol": "BTCUSDT"}', "did not answer with a list"),
        (b'[{"symbol": "BTCUSDT", "markPrice": 61234.5}]', "no markPrice string"),
        (b'[{"symbol": "BTCUSDT", "markPrice": "lots"}]', "is not a number"),
        (b'[{"symbol": "BTCUSDT", "markPrice": "0.00000000"}]', "not a positive price"),
    ],
)
def test_live_feed_refuses_an_answer_of_the_wrong_shape(binance, body, message):
    binance.body = body

    with pytest.raises(FeedError, match=message):
        LiveFeed(base_url=binance.url).next_marks(INSTRUMENTS, NOW)


def test_live_feed_reports_a_server_that_does_not_listen():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(FeedError, match="Live prices"):
        LiveFeed(base_url=f"http://127.0.0.1:{port}").next_marks(INSTRUMENTS, NOW)


def test_a_live_tick_writes_the_marks_and_the_feed_status(market, binance, settings):
    settings.PRICE_FEED = "live"

    changed = prices_tick(now=NOW)

    assert changed == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    assert marks() == {
        "BTCUSDT": (Decimal("61234.56789012"), "live"),
        "ETHUSDT": (Decimal("3012.34"), "live"),
        "SOLUSDT": (Decimal("151.2345"), "live"),
    }
    rates = dict(MarkPrice.objects.values_list("instrument__symbol", "funding_rate"))
    assert rates == {
        "BTCUSDT": Decimal("0.0001"),
        "ETHUSDT": Decimal("0.00008791"),
        "SOLUSDT": Decimal("0.0001"),
    }
    status = FeedStatus.objects.get(name="marks")
    assert (status.source, status.last_tick_at, status.last_error, status.last_error_at) == (
        "live",
        NOW,
        "",
        None,
    )


def test_a_failed_live_fetch_keeps_the_last_prices_and_records_the_error(market, binance, settings):
    settings.PRICE_FEED = "live"
    prices_tick(now=NOW)
    binance.status, binance.body = 500, BINANCE_ERROR
    later = NOW + timedelta(seconds=1)

    changed = prices_tick(now=later)

    assert changed == []
    assert marks()["BTCUSDT"] == (Decimal("61234.56789012"), "live")
    status = FeedStatus.objects.get(name="marks")
    assert status.source == "live"
    assert status.last_tick_at == NOW  # the last tick that brought prices
    assert status.last_error_at == later
    assert "An unknown error occured" in status.last_error


def test_the_live_feed_recovers_on_the_next_good_answer(market, binance, settings):
    settings.PRICE_FEED = "live"
    binance.status, binance.body = 500, BINANCE_ERROR
    prices_tick(now=NOW)
    assert marks()["BTCUSDT"] == (Decimal("60000"), "seed")
    binance.status, binance.body = 200, b'[{"symbol": "BTCUSDT", "markPrice": "59000.10"}]'
    later = NOW + timedelta(seconds=1)

    prices_tick(now=later)

    assert marks()["BTCUSDT"] == (Decimal("59000.1"), "live")
    status = FeedStatus.objects.get(name="marks")
    assert status.last_tick_at == later
    assert status.last_error_at == NOW  # the error stays on record, with its time
