"""Acceptance: a stock ccxt ``binanceusdm`` client, with only its URLs pointed at a live marginsite
server, trades cross and isolated margin and gets ccxt's typed exceptions for refusals: every
unified method that maps to a USD-M REST endpoint marginsite serves (docs/bots.md lists them).

Only the six fapi URLs and fapiData are set (ccxt refuses any other API it has no URL for, so no
request can leave 127.0.0.1; every URL it fetched is checked too). Seeded market: BTCUSDT mark
60,000 (tick 0.1, step 0.001, no slippage, taker fee 0.05 %, 20x by default), SOLUSDT at most
75x; the trader has 10,000 USDT.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import ccxt
import pytest
from django.utils import timezone

from accounts.services import api_key_create, user_create
from tests.clients import marginsite_urls
from trading.binance.mapping import ms as mapping_ms
from trading.domain.holdings import engine_brackets
from trading.engine import PositionState, Side, isolated_liquidation_price
from trading.models import Fill, FundingSettlement, Instrument, Position, PriceCandle
from trading.services import mark_price_set, order_place, sweep_run

pytestmark = pytest.mark.django_db(transaction=True)

BTC = "BTC/USDT:USDT"
D = Decimal


def liquidation_price(isolated_margin: str) -> float:
    """The engine's liquidation price of a 0.1 BTC isolated long at 60,000, at 8 decimals."""
    brackets = engine_brackets(Instrument.objects.get(symbol="BTCUSDT"))
    state = PositionState(Side.LONG, D("0.1"), D("60000"), D("60000"), brackets)
    price = isolated_liquidation_price(state, isolated_margin=D(isolated_margin))
    return float(price.quantize(D("1e-8")))


def binanceusdm(base_url: str, *, key: str, secret: str) -> ccxt.binanceusdm:
    """What docs/bots.md tells a bot author to write. fetchCurrencies is a Binance wallet (sapi)
    call, which marginsite has no URL for; everything else binanceusdm reads is under /fapi
    (and /futures/data, the statistics, which marginsite refuses in Binance's shape)."""
    exchange = ccxt.binanceusdm(
        {"apiKey": key, "secret": secret, "options": {"fetchCurrencies": False}}
    )
    exchange.urls["api"] = marginsite_urls(base_url)
    return exchange


@pytest.fixture
def alice():
    return user_create(username="alice", password="pw-0123456789")


@pytest.fixture
def ccxt_client(live_server):
    """ccxt_client(key, secret) -> a client of the live server. Afterwards, every request of
    every client must have gone to the live server, and the clients' connections are closed
    (while the server may still use the test's database connection: a kept-alive connection
    closed at the end of the session would close that connection from another thread)."""
    made, fetched = [], []

    def make(key: str, secret: str) -> ccxt.binanceusdm:
        client = binanceusdm(live_server.url, key=key, secret=secret)
        client.session.hooks["response"].append(lambda response, **_: fetched.append(response.url))
        made.append(client)
        return client

    yield make
    for client in made:
        client.session.close()
    assert fetched
    assert all(
        url.startswith((f"{live_server.url}/fapi/", f"{live_server.url}/futures/data/"))
        for url in fetched
    )


@pytest.fixture
def exchange(ccxt_client, alice):
    """alice's ccxt client (a TRADING key), its markets loaded."""
    new = api_key_create(user=alice, name="ccxt", permission="TRADING")
    client = ccxt_client(new.api_key.key, new.secret)
    client.load_markets()
    return client


def test_markets_and_market_data_load_from_marginsite(exchange):
    market = exchange.market(BTC)
    assert (market["id"], market["type"], market["linear"], market["settle"]) == (
        "BTCUSDT",
        "swap",
        True,
        "USDT",
    )
    assert market["precision"] == {"amount": 0.001, "price": 0.1, "base": 1e-08, "quote": 1e-08}
    assert (market["limits"]["amount"]["min"], market["limits"]["cost"]["min"]) == (0.001, 100)
    assert set(exchange.symbols) == {BTC, "ETH/USDT:USDT", "SOL/USDT:USDT"}
    assert abs(exchange.fetch_time() - exchange.milliseconds()) < 5000

    ticker = exchange.fetch_ticker(BTC)
    assert (ticker["last"], ticker["open"], ticker["high"], ticker["low"]) == (60000,) * 4
    assert exchange.fetch_mark_price(BTC)["markPrice"] == 60000
    funding = exchange.fetch_funding_rate(BTC)
    assert (funding["markPrice"], funding["fundingRate"]) == (60000, 0.0001)
    assert funding["fundingTimestamp"] > exchange.milliseconds()

    minute = timezone.now().replace(second=0, microsecond=0)
    for age, close in ((2, 59000), (1, 59500)):
        PriceCandle.objects.create(
            instrument=Instrument.objects.get(symbol="BTCUSDT"),
            opened_at=minute - timedelta(minutes=age),
            open=58000,
            high=61000,
            low=57000,
            close=close,
        )
    candles = exchange.fetch_ohlcv(BTC, "1m", limit=10)
    assert [candle[1:5] for candle in candles] == [
        [58000, 61000, 57000, 59000],
        [58000, 61000, 57000, 59500],
    ]

    # the suite's flat book (tests/conftest.py): no spread, a million BTC a level
    book = exchange.fetch_order_book(BTC, limit=5)
    assert book["bids"][:2] == [[60000.0, 1000000.0], [59999.9, 1000000.0]]
    assert book["asks"][:2] == [[60000.0, 1000000.0], [60000.1, 1000000.0]]

    tiers = exchange.fetch_leverage_tiers([BTC])[BTC]
    assert [
        (
            t["tier"],
            t["minNotional"],
            t["maxNotional"],
            t["maxLeverage"],
            t["maintenanceMarginRate"],
        )
        for t in tiers[:2]
    ] == [(1, 0, 50000, 125, 0.004), (2, 50000, 600000, 100, 0.005)]


def test_an_isolated_long_is_opened_changed_and_closed_with_exact_figures(exchange):
    # given BTCUSDT switched to isolated at 20x
    assert exchange.set_margin_mode("isolated", BTC) == {"code": 200, "msg": "success"}
    assert exchange.set_leverage(20, BTC)["leverage"] == 20

    # when a market buy of 0.1 fills
    order = exchange.create_order(BTC, "market", "buy", 0.1)

    # then the order, the position, the balance and the trade carry marginsite's figures
    assert (order["status"], order["filled"], order["average"], order["cost"]) == (
        "closed",
        0.1,
        60000,
        6000,
    )
    (position,) = exchange.fetch_positions([BTC])
    assert (position["marginMode"], position["side"], position["contracts"]) == (
        "isolated",
        "long",
        0.1,
    )
    assert (position["leverage"], position["entryPrice"], position["notional"]) == (20, 60000, 6000)
    assert (position["collateral"], position["initialMargin"]) == (300, 300)
    assert 57228.9 <= position["liquidationPrice"] <= 57229.0
    assert position["liquidationPrice"] == liquidation_price("300")
    balance = exchange.fetch_balance()["USDT"]
    assert (balance["total"], balance["free"], balance["used"]) == (9997, 9697, 300)
    (trade,) = exchange.fetch_my_trades(BTC)
    assert (trade["order"], trade["side"], trade["price"], trade["amount"]) == (
        order["id"],
        "buy",
        60000,
        0.1,
    )
    assert (trade["fee"]["cost"], trade["fee"]["currency"], trade["takerOrMaker"]) == (
        3,
        "USDT",
        "taker",
    )

    # when margin is added, then removed
    added = exchange.add_margin(BTC, 100)
    assert (added["type"], added["amount"], added["status"]) == ("add", 100, "ok")
    assert exchange.fetch_positions([BTC])[0]["collateral"] == 400
    exchange.reduce_margin(BTC, 50)

    # then the position's margin and liquidation price follow
    (position,) = exchange.fetch_positions([BTC])
    assert position["collateral"] == 350
    assert position["liquidationPrice"] == liquidation_price("350")

    # when a reduce-only market sell closes it
    closing = exchange.create_order(BTC, "market", "sell", 0.1, params={"reduceOnly": True})

    # then no position is left and the wallet got the margin back, minus the two fees
    assert (closing["status"], closing["reduceOnly"]) == ("closed", True)
    assert exchange.fetch_positions([BTC]) == []
    assert exchange.fetch_balance()["USDT"]["total"] == 9994


def test_the_margin_mode_is_refused_while_a_position_exists_and_already_set_is_typed(exchange):
    # given an open cross position (BTCUSDT's default mode)
    exchange.create_order(BTC, "market", "buy", 0.01)

    # then switching BTCUSDT to isolated is refused as Binance refuses it
    with pytest.raises(ccxt.OperationRejected, match='"code":-4048'):
        exchange.set_margin_mode("isolated", BTC)
    # and asking for the mode it has raises MarginModeAlreadySet (ccxt's default), or answers
    # Binance's -4046 when the bot asks ccxt not to raise
    with pytest.raises(ccxt.MarginModeAlreadySet, match='"code":-4046'):
        exchange.set_margin_mode("cross", BTC)
    exchange.options["setMarginMode"]["throwMarginModeAlreadySet"] = False
    assert exchange.set_margin_mode("cross", BTC) == {
        "code": -4046,
        "msg": "No need to change margin type.",
    }
    (position,) = exchange.fetch_positions()
    assert (position["marginMode"], position["side"], position["leverage"]) == (
        "cross",
        "long",
        20,
    )


def test_an_open_order_of_the_current_mode_blocks_the_margin_mode_change(exchange):
    # given a resting cross limit buy (BTCUSDT's default mode is cross)
    exchange.create_order(BTC, "limit", "buy", 0.01, 50000)

    with pytest.raises(ccxt.OperationRejected, match='"code":-4047'):
        exchange.set_margin_mode("isolated", BTC)

    # once it is canceled, the change goes through
    exchange.cancel_all_orders(BTC)
    assert exchange.fetch_open_orders(BTC) == []
    assert exchange.set_margin_mode("isolated", BTC) == {"code": 200, "msg": "success"}
    assert exchange.fetch_margin_mode(BTC)["marginMode"] == "isolated"


def test_a_symbol_held_in_both_modes_shows_the_position_its_orders_act_on(exchange, alice):
    # given an isolated long through ccxt and a cross short placed on the website
    exchange.set_margin_mode("isolated", BTC)
    exchange.create_order(BTC, "market", "buy", 0.1)
    order_place(user=alice, symbol="BTCUSDT", side="SELL", quantity="0.05", margin_mode="CROSS")

    # then the client sees BTCUSDT's isolated position alone, with its own figures
    (position,) = exchange.fetch_positions([BTC])
    assert (position["marginMode"], position["side"], position["contracts"]) == (
        "isolated",
        "long",
        0.1,
    )
    assert position["liquidationPrice"] == liquidation_price("300")
    # and its orders act on that position: a reduce-only sell closes it, the cross short stays
    exchange.create_order(BTC, "market", "sell", 0.1, params={"reduceOnly": True})
    assert exchange.fetch_positions([BTC]) == []
    (short,) = Position.objects.filter(user=alice, status="OPEN")
    assert (short.margin_mode, short.side, short.quantity) == ("CROSS", "SHORT", D("0.05"))
    # the account's balance counts the hidden short's margin all the same (300 at 20x, 1.5 fee)
    balance = exchange.fetch_balance()["USDT"]
    assert (balance["total"], balance["used"]) == (9992.5, 150)


def test_a_limit_order_rests_is_found_and_is_canceled(exchange):
    order = exchange.create_order(BTC, "limit", "buy", 0.01, 59000, params={"clientOrderId": "b1"})
    assert (order["status"], order["price"], order["clientOrderId"]) == ("open", 59000, "b1")

    (open_order,) = exchange.fetch_open_orders(BTC)
    assert (open_order["id"], open_order["type"], open_order["amount"]) == (
        order["id"],
        "limit",
        0.01,
    )
    assert exchange.fetch_order(order["id"], BTC)["status"] == "open"

    canceled = exchange.cancel_order(order["id"], BTC)

    assert canceled["status"] == "canceled"
    assert exchange.fetch_open_orders(BTC) == []
    assert exchange.fetch_order(order["id"], BTC)["status"] == "canceled"
    with pytest.raises(ccxt.OrderNotFound, match='"code":-2011'):
        exchange.cancel_order(order["id"], BTC)
    with pytest.raises(ccxt.OrderNotFound, match='"code":-2013'):
        exchange.fetch_order("999999", BTC)


def test_stop_market_orders_are_algo_orders_triggered_by_the_mark(exchange):
    # given a long, a stop-market sell below the mark and a take-profit above it
    exchange.create_order(BTC, "market", "buy", 0.1)
    stop = exchange.create_order(
        BTC, "market", "sell", 0.1, params={"stopLossPrice": 58000, "reduceOnly": True}
    )
    take = exchange.create_order(
        BTC, "market", "sell", 0.1, params={"takeProfitPrice": 65000, "reduceOnly": True}
    )
    assert (stop["status"], stop["triggerPrice"], stop["reduceOnly"]) == ("open", 58000, True)
    assert take["takeProfitPrice"] == 65000
    assert exchange.fetch_open_orders(BTC) == []
    opened = exchange.fetch_open_orders(BTC, params={"trigger": True})
    assert [o["id"] for o in opened] == [stop["id"], take["id"]]

    # when the take-profit is canceled and the mark falls through the stop
    assert exchange.cancel_order(take["id"], BTC, params={"trigger": True})["id"] == take["id"]
    assert exchange.fetch_order(take["id"], BTC, params={"trigger": True})["status"] == "canceled"
    mark_price_set(symbol="BTCUSDT", price=D("57900"))
    sweep_run()

    # then the stop has executed and closed the position
    triggered = exchange.fetch_order(stop["id"], BTC, params={"trigger": True})
    assert triggered["status"] == "closed"
    assert exchange.fetch_positions([BTC]) == []
    assert exchange.fetch_my_trades(BTC)[-1]["price"] == 57900
    # and, as freqtrade reconciles its stop loss, the order it became is readable by its id
    actual = exchange.fetch_order(triggered["info"]["actualOrderId"], BTC)
    assert (actual["id"], actual["status"], actual["type"], actual["filled"]) == (
        stop["id"],
        "closed",
        "market",
        0.1,
    )
    assert (actual["average"], actual["cost"], actual["reduceOnly"]) == (57900, 5790, True)


def test_trailing_stops_and_close_position_stops_through_ccxt(exchange):
    # given a long, a trailing stop 1 % behind the high from 61,000 and a closePosition stop
    exchange.create_order(BTC, "market", "buy", 0.1)
    trailing = exchange.create_order(
        BTC, "market", "sell", 0.1,
        params={"trailingPercent": 1, "trailingTriggerPrice": 61000, "reduceOnly": True},
    )  # fmt: skip
    assert (trailing["status"], trailing["info"]["orderType"]) == ("open", "TRAILING_STOP_MARKET")
    assert (trailing["info"]["callbackRate"], trailing["info"]["activatePrice"]) == (
        "1",
        "61000.00000000",
    )
    stop = exchange.create_order(
        BTC, "market", "sell", 0.1, params={"stopLossPrice": 58000, "closePosition": True}
    )
    assert (stop["info"]["closePosition"], stop["info"]["quantity"]) == (True, "0")

    # when the mark rises to 61,000 and comes back to 60,390
    for mark in ("61000", "60390"):
        mark_price_set(symbol="BTCUSDT", price=D(mark))
        sweep_run()

    # then the trailing stop has closed the position, and the stop is canceled with it
    assert exchange.fetch_order(trailing["id"], BTC, params={"trigger": True})["status"] == (
        "closed"
    )
    assert exchange.fetch_order(stop["id"], BTC, params={"trigger": True})["status"] == ("canceled")
    assert exchange.fetch_positions([BTC]) == []
    assert exchange.fetch_my_trades(BTC)[-1]["price"] == 60390


def test_refusals_raise_ccxt_typed_exceptions(exchange, ccxt_client):
    # typed by its message (see trading/binance/errors.py), so ccxt's text is the message
    with pytest.raises(ccxt.InsufficientFunds, match="insufficient balance for requested action"):
        exchange.create_order(BTC, "market", "buy", 10)
    with pytest.raises(ccxt.BadRequest, match='"code":-4028'):
        exchange.set_leverage(100, "SOL/USDT:USDT")
    with pytest.raises(ccxt.OrderImmediatelyFillable, match="Order would trigger immediately"):
        exchange.create_order(BTC, "market", "sell", 0.1, params={"stopLossPrice": 61000})
    with pytest.raises(ccxt.ExchangeError, match='"code":-2022'):
        exchange.create_order(BTC, "market", "sell", 0.1, params={"reduceOnly": True})
    with pytest.raises(ccxt.OperationRejected, match='"code":-4054'):
        exchange.add_margin(BTC, 10)
    with pytest.raises(ccxt.BadSymbol, match='"code":-1121'):
        exchange.fapiPublicGetTicker24hr({"symbol": "DOGEUSDT"})
    with pytest.raises(ccxt.BadRequest, match='"code":-1130'):
        exchange.set_position_mode(True)
    with pytest.raises(ccxt.OperationRejected, match='"code":-4059'):
        exchange.set_position_mode(False)
    assert exchange.fetch_position_mode()["hedged"] is False

    exchange.create_order(BTC, "market", "buy", 0.01)  # a cross position
    with pytest.raises(ccxt.BadRequest, match='"code":-4049'):
        exchange.add_margin(BTC, 10)
    exchange.set_leverage(125, BTC)  # at 125x a position stays within 50,000 USDT
    with pytest.raises(ccxt.ExchangeError, match='"code":-2027'):
        exchange.create_order(BTC, "market", "buy", 1)

    exchange.set_margin_mode("isolated", "SOL/USDT:USDT")
    exchange.create_order("SOL/USDT:USDT", "market", "buy", 10)
    with pytest.raises(ccxt.InsufficientFunds, match='"code":-4050'):
        exchange.add_margin("SOL/USDT:USDT", 100000)
    with pytest.raises(ccxt.InsufficientFunds, match='"code":-4051'):
        exchange.reduce_margin("SOL/USDT:USDT", 1000)
    with pytest.raises(ccxt.ExchangeError, match='"code":-4161'):
        exchange.set_leverage(10, "SOL/USDT:USDT")

    impostor = ccxt_client(exchange.apiKey, "not-the-secret")
    impostor.load_markets()
    with pytest.raises(ccxt.AuthenticationError, match='"code":-1022'):
        impostor.fetch_balance()
    stranger = ccxt_client("no-such-key", "x")
    with pytest.raises(ccxt.AuthenticationError, match='"code":-2015'):
        stranger.fapiPrivateV3GetAccount()


def test_funding_history_intervals_fees_and_account_modes(exchange):
    btc = Instrument.objects.get(symbol="BTCUSDT")
    for hour, rate in ((0, "0.0001"), (8, "-0.0002")):
        FundingSettlement.objects.create(
            instrument=btc,
            funding_time=datetime(2030, 1, 1, hour, tzinfo=UTC),
            rate=D(rate),
            mark_price=D("60000"),
        )
    first = 1893456000000  # 2030-01-01 00:00 UTC

    history = exchange.fetch_funding_rate_history(BTC, since=first, limit=10)
    assert [(row["timestamp"], row["fundingRate"], row["symbol"]) for row in history] == [
        (first, 0.0001, BTC),
        (first + 8 * 3600_000, -0.0002, BTC),
    ]
    intervals = exchange.fetch_funding_intervals()
    assert set(intervals) == {BTC, "ETH/USDT:USDT", "SOL/USDT:USDT"}
    assert intervals[BTC]["interval"] == "8h"
    assert exchange.fetch_funding_interval(BTC)["interval"] == "8h"

    fee = exchange.fetch_trading_fee(BTC)
    assert (fee["symbol"], fee["maker"], fee["taker"]) == (BTC, 0.0002, 0.0005)
    # ccxt reads accountConfig's fee tier (0) and takes the rates from its own table of
    # Binance's tiers, not from the exchange: docs/bots.md points bot authors to fetch_trading_fee
    fees = exchange.fetch_trading_fees()
    assert fees[BTC]["info"] == {"feeTier": 0}
    assert (fees[BTC]["maker"], fees[BTC]["taker"]) == (0.0002, 0.0004)

    # freqtrade's start-up checks, through ccxt's implicit methods
    assert exchange.fapiPrivateGetMultiAssetsMargin() == {"multiAssetsMargin": False}
    assert exchange.fapiPrivateGetPositionSideDual() == {"dualSidePosition": False}
    # Binance's codes, which ccxt types only on Binance's hosts (errors.py): ExchangeError here
    with pytest.raises(ccxt.ExchangeError, match='"code":-4167'):
        exchange.fapiPrivatePostMultiAssetsMargin({"multiAssetsMargin": "true"})
    with pytest.raises(ccxt.ExchangeError, match='"code":-4171'):
        exchange.fapiPrivatePostMultiAssetsMargin({"multiAssetsMargin": "false"})


def test_an_unknown_path_is_an_exchange_error_not_a_network_one(exchange):
    with pytest.raises(ccxt.ExchangeError, match='"code":-5000') as raised:
        exchange.request("noSuchThing", ["fapiPublic"], "GET")
    assert not isinstance(raised.value, ccxt.NetworkError)
    with pytest.raises(ccxt.BadRequest, match='"code":-1130'):
        exchange.fetch_funding_history(BTC, params={"incomeType": "FUNDING"})


@pytest.fixture
def thin_btc_book(exchange):
    """BTCUSDT's book a tick from the mark each side, a level every tick, 0.05 BTC a level."""
    Instrument.objects.filter(symbol="BTCUSDT").update(
        book_half_spread_ticks=1, book_level_ticks=1, book_level_quantity=D("0.05")
    )


def test_times_in_force_edits_batches_and_the_book(exchange, thin_btc_book):
    # the book: best bid 59,999.9 and best ask 60,000.1, 0.05 BTC each
    (bids_asks,) = exchange.fetch_bids_asks([BTC]).values()
    assert (bids_asks["bid"], bids_asks["bidVolume"], bids_asks["ask"], bids_asks["askVolume"]) == (
        59999.9,
        0.05,
        60000.1,
        0.05,
    )
    book = exchange.fetch_order_book(BTC, limit=5)
    assert book["asks"] == [
        [price, 0.05] for price in (60000.1, 60000.2, 60000.3, 60000.4, 60000.5)
    ]

    # post-only: rests as a maker, or is refused when it would take
    maker = exchange.create_order(BTC, "limit", "buy", 0.01, 60000, params={"postOnly": True})
    assert (maker["status"], maker["timeInForce"], maker["postOnly"]) == ("open", "PO", True)
    with pytest.raises(ccxt.ExchangeError, match='"code":-5022'):
        exchange.create_order(BTC, "limit", "buy", 0.01, 60000.1, params={"timeInForce": "GTX"})

    # FOK: nothing fills unless all does; IOC: fills what the price reaches, expires the rest
    fok = exchange.create_order(BTC, "limit", "buy", 0.08, 60000.1, params={"timeInForce": "FOK"})
    assert (fok["status"], fok["filled"], fok["timeInForce"]) == ("expired", 0, "FOK")
    ioc = exchange.create_order(BTC, "limit", "buy", 0.08, 60000.1, params={"timeInForce": "IOC"})
    assert (ioc["status"], ioc["filled"], ioc["remaining"], ioc["average"]) == (
        "expired",
        0.05,
        0.03,
        60000.1,
    )

    # edit_order: the resting post-only order gets a new price and quantity, same id
    edited = exchange.edit_order(maker["id"], BTC, "limit", "buy", 0.02, 59500)
    assert (edited["id"], edited["status"], edited["amount"], edited["price"]) == (
        maker["id"],
        "open",
        0.02,
        59500,
    )
    assert exchange.fetch_order(maker["id"], BTC)["price"] == 59500

    # create_orders: the good ones are placed, the bad one reported in its place
    placed = exchange.create_orders(
        [
            {"symbol": BTC, "type": "limit", "side": "buy", "amount": 0.01, "price": 59000},
            {"symbol": BTC, "type": "limit", "side": "buy", "amount": 10, "price": 59000},
            {"symbol": BTC, "type": "market", "side": "sell", "amount": 0.05,
             "params": {"reduceOnly": True}},
        ]
    )  # fmt: skip
    # (ccxt sorts its answers by time: the refusal, which has none, comes first)
    (refused,) = [order for order in placed if order["status"] == "rejected"]
    assert refused["info"]["code"] == -2019  # 29,500 USDT of margin: more than alice has
    by_status = {order["status"]: order for order in placed}
    assert (by_status["open"]["price"], by_status["closed"]["average"]) == (59000, 59999.9)
    assert exchange.fetch_positions([BTC]) == []
    resting = exchange.fetch_open_orders(BTC)
    assert [order["price"] for order in resting] == [59500, 59000]

    # edit_orders and cancel_orders: the batch forms of edit and cancel
    edits = exchange.edit_orders(
        [
            {"id": order["id"], "symbol": BTC, "type": "limit", "side": "buy", "amount": 0.01,
             "price": price}
            for order, price in zip(resting, (59100, 59200), strict=True)
        ]
    )  # fmt: skip
    assert sorted((order["id"], order["price"]) for order in edits) == sorted(
        zip([order["id"] for order in resting], (59100, 59200), strict=True)
    )
    canceled = exchange.cancel_orders([order["id"] for order in resting] + ["999999"], BTC)
    # (ccxt leaves the unknown id's refusal, -2011, out of its list)
    assert [order["status"] for order in canceled] == ["canceled", "canceled"]
    assert exchange.fetch_open_orders(BTC) == []


def test_the_venues_trades_open_interest_candles_and_adl_ranks(exchange, alice):
    # given alice's market buy (she takes), bob's isolated short placed on the website (he
    # takes), and alice's limit buy that rests and fills as a maker when the mark crosses it
    bob = user_create(username="bob", password="pw-0123456789")
    exchange.create_order(BTC, "market", "buy", 0.1)
    order_place(user=bob, symbol="BTCUSDT", side="SELL", quantity="0.2", margin_mode="ISOLATED")
    exchange.create_order(BTC, "limit", "buy", 0.05, 59000)
    mark_price_set(symbol="BTCUSDT", price=D("58900"))
    sweep_run()
    fills = [str(pk) for pk in Fill.objects.order_by("pk").values_list("pk", flat=True)]

    # then the venue's trades are every user's fills, naming no one; a trade's side is its
    # taker's, as on Binance (the house took alice's resting buy: a sell)
    expected = [
        (fills[0], 60000, 0.1, 6000, "buy"),
        (fills[1], 60000, 0.2, 12000, "sell"),
        (fills[2], 59000, 0.05, 2950, "sell"),
    ]
    trades = exchange.fetch_trades(BTC)  # aggTrades, ccxt's default
    assert [(t["id"], t["price"], t["amount"], t["cost"], t["side"]) for t in trades] == expected
    assert set(trades[0]["info"]) == {"a", "p", "q", "f", "l", "T", "m"}
    recent = exchange.fetch_trades(BTC, params={"fetchTradesMethod": "fapiPublicGetTrades"})
    assert [(t["id"], t["price"], t["amount"], t["cost"], t["side"]) for t in recent] == expected
    assert set(recent[0]["info"]) == {"id", "price", "qty", "quoteQty", "time", "isBuyerMaker"}
    assert [t["id"] for t in exchange.fetch_trades(BTC, since=trades[2]["timestamp"])] == [fills[2]]
    assert exchange.fetch_trades("ETH/USDT:USDT") == []

    # and the open interest is the size of every open position (the house holds the other side)
    interest = exchange.fetch_open_interest(BTC)
    assert (interest["symbol"], interest["openInterestAmount"]) == (BTC, 0.35)
    assert exchange.fetch_open_interest("ETH/USDT:USDT")["openInterestAmount"] == 0

    # the index candles are the mark's (one price feed), the premium's are 0
    minute = timezone.now().replace(second=0, microsecond=0)
    PriceCandle.objects.create(
        instrument=Instrument.objects.get(symbol="BTCUSDT"),
        opened_at=minute - timedelta(minutes=1),
        open=58000,
        high=61000,
        low=57000,
        close=59500,
    )
    opened = mapping_ms(minute - timedelta(minutes=1))
    assert exchange.fetch_index_ohlcv(BTC, "1m", limit=5) == [
        [opened, 58000, 61000, 57000, 59500, 0]
    ]
    assert exchange.fetch_mark_ohlcv(BTC, "1m", limit=5) == [
        [opened, 58000, 61000, 57000, 59500, 0]
    ]
    assert exchange.fetch_premium_index_ohlcv(BTC, "1m", limit=5) == [[opened, 0, 0, 0, 0, 0]]

    # marginsite never auto-deleverages: the lowest rank and risk
    risk = exchange.fetch_adl_rank(BTC)
    assert (risk["symbol"], risk["rating"], risk["rank"]) == (BTC, "low", None)
    ranks = exchange.fetch_positions_adl_rank()
    assert [(rank["symbol"], rank["rank"]) for rank in ranks] == [(BTC, 0)]
    assert exchange.fetch_position_adl_rank(BTC)["rank"] == 0


def test_margin_adjustments_and_liquidations_are_listed(exchange):
    # given an isolated long of 0.1 at 20x (300 of margin), 100 added and 50 removed
    exchange.set_margin_mode("isolated", BTC)
    exchange.create_order(BTC, "market", "buy", 0.1)
    exchange.add_margin(BTC, 100)
    exchange.reduce_margin(BTC, 50)

    # then the history lists the two adjustments (the order's own margin is its trade)
    history = exchange.fetch_margin_adjustment_history(BTC)
    assert [(h["symbol"], h["type"], h["amount"], h["code"], h["status"]) for h in history] == [
        (BTC, "add", 100, "USDT", "ok"),
        (BTC, "reduce", 50, "USDT", "ok"),
    ]
    assert [h["amount"] for h in exchange.fetch_margin_adjustment_history(BTC, "reduce")] == [50]
    assert exchange.fetch_my_liquidations(BTC) == []

    # when the mark falls through the liquidation price (350 of margin: bankruptcy at 56,500)
    mark_price_set(symbol="BTCUSDT", price=D("56000"))
    sweep_run()

    # then the liquidation is listed: the whole position, closed at the bankruptcy price
    (liquidation,) = exchange.fetch_my_liquidations(BTC)
    assert (liquidation["symbol"], liquidation["side"], liquidation["contracts"]) == (
        BTC,
        "sell",
        0.1,
    )
    assert (liquidation["price"], liquidation["quoteValue"]) == (56500, 5650)
    assert liquidation["info"]["clientOrderId"].startswith("autoclose-")
    assert exchange.fetch_my_liquidations(BTC, params={"autoCloseType": "ADL"}) == []
    assert len(exchange.fetch_margin_adjustment_history(BTC)) == 2


def test_account_reads_and_one_open_order(exchange):
    # given BTCUSDT cross at 20x with a long of 0.1, ETHUSDT isolated at 10x, a resting buy
    exchange.set_margin_mode("isolated", "ETH/USDT:USDT")
    exchange.set_leverage(10, "ETH/USDT:USDT")
    exchange.create_order(BTC, "market", "buy", 0.1)
    resting = exchange.create_order(BTC, "limit", "buy", 0.01, 59000)

    found = exchange.fetch_open_order(resting["id"], BTC)
    assert (found["id"], found["status"], found["price"], found["amount"]) == (
        resting["id"],
        "open",
        59000,
        0.01,
    )
    exchange.cancel_order(resting["id"], BTC)
    with pytest.raises(ccxt.OrderNotFound, match='"code":-2013'):
        exchange.fetch_open_order(resting["id"], BTC)
    orders = exchange.fetch_orders(BTC)
    assert [(o["type"], o["status"], o["amount"], o["filled"]) for o in orders] == [
        ("market", "closed", 0.1, 0.1),
        ("limit", "canceled", 0.01, 0),
    ]

    leverages = exchange.fetch_leverages([BTC, "ETH/USDT:USDT"])
    assert [
        (each["marginMode"], each["longLeverage"], each["shortLeverage"])
        for each in (leverages[BTC], leverages["ETH/USDT:USDT"])
    ] == [("cross", 20, 20), ("isolated", 10, 10)]
    modes = exchange.fetch_margin_modes()
    assert (modes[BTC]["marginMode"], modes["ETH/USDT:USDT"]["marginMode"]) == (
        "cross",
        "isolated",
    )

    (risk,) = exchange.fetch_positions_risk([BTC])
    assert (risk["symbol"], risk["side"], risk["contracts"], risk["entryPrice"]) == (
        BTC,
        "long",
        0.1,
        60000,
    )
    assert (risk["marginMode"], risk["leverage"], risk["notional"]) == ("cross", 20, 6000)

    # the ledger: the 10,000 USDT granted, then the fee of the buy (0.05 % of 6,000)
    ledger = exchange.fetch_ledger("USDT")
    assert [(e["type"], e["direction"], e["amount"], e["currency"]) for e in ledger] == [
        ("transfer", "in", 10000, "USDT"),
        ("commission", "out", 3, "USDT"),
    ]
    assert exchange.fetch_funding_history(BTC) == []

    # market data of every symbol at once
    assert exchange.fetch_last_prices([BTC])[BTC]["price"] == 60000
    marks = exchange.fetch_mark_prices()
    assert (marks[BTC]["markPrice"], marks["SOL/USDT:USDT"]["markPrice"]) == (60000, 150)
    rates = exchange.fetch_funding_rates()
    assert (rates[BTC]["fundingRate"], rates["ETH/USDT:USDT"]["markPrice"]) == (0.0001, 3000)
    tickers = exchange.fetch_tickers()
    assert (tickers[BTC]["last"], tickers["ETH/USDT:USDT"]["last"]) == (60000, 3000)
    assert exchange.fetch_l2_order_book(BTC, 5)["bids"][0] == [60000, 1000000]


def test_what_marginsite_has_not_is_refused_in_binances_shape(exchange, ccxt_client):
    # the statistics under /futures/data (fapiData): Binance's JSON error, not a network one
    for fetch in (
        lambda: exchange.fetch_open_interest_history(BTC, "5m"),
        lambda: exchange.fetch_long_short_ratio_history(BTC, "5m"),
    ):
        with pytest.raises(ccxt.ExchangeError, match='"code":-5000') as raised:
            fetch()
        assert not isinstance(raised.value, ccxt.NetworkError)

    # the wallet, options and spot calls: ccxt itself refuses them (no URL), nothing is sent
    checked = ccxt_client(exchange.apiKey, exchange.secret)
    checked.markets, checked.markets_by_id = exchange.markets, exchange.markets_by_id
    sent = []
    checked.session.hooks["response"].append(lambda response, **_: sent.append(response.url))
    for call in (
        checked.fetch_status,
        lambda: checked.fetch_position(BTC),
        checked.fetch_transfers,
        checked.fetch_deposits,
        checked.fetch_convert_currencies,
        checked.fetch_borrow_interest,
        lambda: checked.create_market_order_with_cost(BTC, "buy", 100),
    ):
        with pytest.raises(ccxt.NotSupported):
            call()
    assert sent == []
