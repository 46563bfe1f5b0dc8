"""Acceptance: a stock ccxt ``binanceusdm`` client, with only its URLs pointed at a live marginsite
server, trades cross and isolated margin and gets ccxt's typed exceptions for refusals.

Only the six fapi URLs are set (ccxt refuses any other API it has no URL for, so no request can
leave 127.0.0.1; every URL it fetched is checked too). Seeded market: BTCUSDT mark 60,000 (tick
0.1, step 0.001, no slippage, taker fee 0.05 %, 20x by default), SOLUSDT at most 75x; the trader
has 10,000 USDT.
"""

from datetime import timedelta
from decimal import Decimal

import ccxt
import pytest
from django.utils import timezone

from accounts.services import api_key_create, user_create
from trading.engine import PositionState, Side, isolated_liquidation_price
from trading.models import Instrument, PriceCandle
from trading.selectors.accounts import engine_brackets
from trading.services import mark_price_set, market_seed, order_place, sweep_run

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
    """What the README tells a bot author to write. fetchCurrencies is a Binance wallet (sapi)
    call, which marginsite has no URL for; everything else binanceusdm reads is under /fapi."""
    exchange = ccxt.binanceusdm(
        {"apiKey": key, "secret": secret, "options": {"fetchCurrencies": False}}
    )
    fapi = f"{base_url}/fapi"
    exchange.urls["api"] = {
        "fapiPublic": f"{fapi}/v1",
        "fapiPublicV2": f"{fapi}/v2",
        "fapiPublicV3": f"{fapi}/v3",
        "fapiPrivate": f"{fapi}/v1",
        "fapiPrivateV2": f"{fapi}/v2",
        "fapiPrivateV3": f"{fapi}/v3",
    }
    return exchange


@pytest.fixture
def alice():
    market_seed()
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
    assert all(url.startswith(f"{live_server.url}/fapi/") for url in fetched)


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

    book = exchange.fetch_order_book(BTC, limit=5)
    assert book["bids"][:2] == [[60000.0, 16.666], [59999.9, 16.666]]
    assert book["asks"][:2] == [[60000.0, 16.666], [60000.1, 16.666]]

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


def test_a_cross_and_an_isolated_position_on_one_symbol_are_listed_apart(exchange, alice):
    # given an isolated long through ccxt and a cross short placed on the website
    exchange.set_margin_mode("isolated", BTC)
    exchange.create_order(BTC, "market", "buy", 0.1)
    order_place(user=alice, symbol="BTCUSDT", side="SELL", quantity="0.05", margin_mode="CROSS")

    positions = exchange.fetch_positions([BTC])

    # then each position is its own row, with its own mode, side and liquidation price
    assert [(p["marginMode"], p["side"], p["contracts"]) for p in positions] == [
        ("cross", "short", 0.05),
        ("isolated", "long", 0.1),
    ]
    assert positions[1]["liquidationPrice"] == liquidation_price("300")
    assert positions[0]["liquidationPrice"] > 60000
    # and no order goes through while both are held: Binance's API could address the wrong one
    with pytest.raises(ccxt.ExchangeError, match='"code":-4061'):
        exchange.create_order(BTC, "market", "buy", 0.05, params={"reduceOnly": True})


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
    assert exchange.fetch_order(stop["id"], BTC, params={"trigger": True})["status"] == "closed"
    assert exchange.fetch_positions([BTC]) == []
    assert exchange.fetch_my_trades(BTC)[-1]["price"] == 57900


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
