"""The events of Binance USD-M's WebSocket streams, built from what the database holds: pure
functions of rows already read, in the shapes of mapping.py (each figure's rule lives there;
these only rename its fields to the streams' one-letter names).

User data: ORDER_TRADE_UPDATE (an order's NEW, each fill's TRADE, then CANCELED, EXPIRED or
AMENDMENT), ALGO_UPDATE (a conditional order: NEW, then FINISHED once it triggered, CANCELED or
EXPIRED), ACCOUNT_UPDATE (the wallet and the positions a one-way client sees, when they changed)
and MARGIN_CALL (a margin ratio that reached 80 %). What a stream has told of an order is an
``OrderSeen``, so a re-read tells only what changed.

Market: 24hrTicker / 24hrMiniTicker, markPriceUpdate, kline, bookTicker and depthUpdate. The
book moves with the mark alone, so a book's update id is its mark's time in milliseconds, the
same ``lastUpdateId`` /fapi/v1/depth answers: a diff from the book at id ``pu`` to the book at
id ``u`` carries ``U = pu + 1``, and a client that holds a snapshot applies it (Binance's rule:
``U <= lastUpdateId <= u``, then ``pu`` = the previous ``u``).
"""

from dataclasses import dataclass
from decimal import Decimal

from trading.binance import mapping
from trading.binance.selectors import CONDITIONAL_TYPES
from trading.models import Fill, MarginMode, Order

# --- orders --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderSeen:
    """What a stream has told of an order: its state then, and whether it told the regular
    order (NEW) yet (a conditional order is an algo order until it executes)."""

    status: str
    filled: Decimal
    price: Decimal | None
    quantity: Decimal
    order_told: bool


def order_seen(order: Order) -> OrderSeen:
    """An order as if everything about it had been told (the state when a stream opens)."""
    return OrderSeen(
        order.status, order.filled_quantity, order.price, order.quantity, _regular(order)
    )


def _regular(order: Order) -> bool:
    """Whether the order is a regular order on Binance: not conditional, or conditional and
    executed (the order it became)."""
    return order.order_type not in CONDITIONAL_TYPES or order.filled_quantity > 0


def order_trade_update(
    order: Order,
    *,
    execution: str,
    status: str,
    filled: Decimal,
    average: Decimal | None,
    time_ms: int,
    now_ms: int,
    fill: Fill | None = None,
) -> dict:
    """ORDER_TRADE_UPDATE: ``order`` as /fapi/v1/order shows it, after ``execution`` (NEW,
    TRADE with its ``fill``, CANCELED, EXPIRED, AMENDMENT), with the ``status``, ``filled`` and
    ``average`` price it had then."""
    info = mapping.order_info(order)
    trade = mapping.trade_info(fill) if fill is not None else None
    update = {
        "s": info["symbol"],
        "c": info["clientOrderId"],
        "S": info["side"],
        "o": info["type"],
        "f": info["timeInForce"],
        "q": info["origQty"],
        "p": info["price"],
        "ap": mapping.figure(average),
        "sp": info["stopPrice"],
        "x": execution,
        "X": status,
        "i": info["orderId"],
        "l": trade["qty"] if trade else "0",
        "z": mapping.figure(filled),
        "L": trade["price"] if trade else "0",
        "T": time_ms,
        "t": trade["id"] if trade else 0,
        "b": "0",
        "a": "0",
        "m": trade["maker"] if trade else False,
        "R": info["reduceOnly"],
        "wt": info["workingType"],
        "ot": info["origType"],
        "ps": info["positionSide"],
        "cp": info["closePosition"],
        "rp": trade["realizedPnl"] if trade else "0",
        "pP": info["priceProtect"],
        "si": 0,
        "ss": 0,
        "V": info["selfTradePreventionMode"],
        "pm": info["priceMatch"],
        "gtd": info["goodTillDate"],
    }
    if trade:
        update["N"], update["n"] = trade["commissionAsset"], trade["commission"]
    if "priceRate" in info:  # a trailing stop: its activation price and callback rate
        update["AP"], update["cr"] = info["activatePrice"], info["priceRate"]
    return {"e": "ORDER_TRADE_UPDATE", "E": now_ms, "T": time_ms, "o": update}


def algo_update(order: Order, *, now_ms: int) -> dict:
    """ALGO_UPDATE: a conditional order as /fapi/v1/algoOrder shows it."""
    info = mapping.algo_order_info(order)
    time_ms = info["triggerTime"] or info["updateTime"]
    return {
        "e": "ALGO_UPDATE",
        "E": now_ms,
        "T": time_ms,
        "o": {
            "caid": info["clientAlgoId"],
            "aid": info["algoId"],
            "at": info["algoType"],
            "o": info["orderType"],
            "s": info["symbol"],
            "S": info["side"],
            "ps": info["positionSide"],
            "f": info["timeInForce"],
            "q": info["quantity"],
            "X": info["algoStatus"],
            "ai": info["actualOrderId"],
            "ap": info["actualPrice"],
            "aq": mapping.figure(order.filled_quantity),
            "act": "MARKET" if info["actualOrderId"] else "0",
            "tp": info["triggerPrice"],
            "p": info["price"],
            "V": info["selfTradePreventionMode"],
            "wt": info["workingType"],
            "pm": info["priceMatch"],
            "cp": info["closePosition"],
            "pP": info["priceProtect"],
            "R": info["reduceOnly"],
            "tt": info["triggerTime"],
            "gtd": info["goodTillDate"],
        },
    }


def order_events(
    order: Order,
    fills: list[Fill],
    *,
    seen: OrderSeen | None,
    told_fills: set[int],
    now_ms: int,
) -> tuple[list[dict], OrderSeen]:
    """What a stream that told ``seen`` of ``order`` (None: nothing) and the fills
    ``told_fills`` has to tell now, in Binance's order, and what it will have told then.
    ``fills``: every fill of the order, oldest first."""
    events = []
    state = (order.status, order.filled_quantity, order.price, order.quantity)
    changed = seen is None or (seen.status, seen.filled, seen.price, seen.quantity) != state
    if order.order_type in CONDITIONAL_TYPES and changed:
        events.append(algo_update(order, now_ms=now_ms))
    regular = _regular(order)
    if regular and not (seen and seen.order_told):
        # a conditional order becomes a regular one when it triggers
        opened = order.updated_at if order.order_type in CONDITIONAL_TYPES else order.created_at
        events.append(
            order_trade_update(
                order,
                execution="NEW",
                status="NEW",
                filled=Decimal(0),
                average=None,
                time_ms=mapping.ms(opened),
                now_ms=now_ms,
            )
        )
    if regular:
        events += _trades(order, fills, told_fills=told_fills, now_ms=now_ms)
    if regular and seen is not None and changed:
        ended = order.status in (Order.Status.CANCELED, Order.Status.EXPIRED)
        if ended and seen.status != order.status:
            events.append(_as_it_is(order, execution=order.status, now_ms=now_ms))
        edited = (seen.price, seen.quantity) != (order.price, order.quantity)
        if order.status == Order.Status.NEW and edited:
            events.append(_as_it_is(order, execution="AMENDMENT", now_ms=now_ms))
    elif regular and seen is None and order.status in (Order.Status.CANCELED, Order.Status.EXPIRED):
        events.append(_as_it_is(order, execution=order.status, now_ms=now_ms))
    return events, OrderSeen(*state, order_told=regular or bool(seen and seen.order_told))


def _as_it_is(order: Order, *, execution: str, now_ms: int) -> dict:
    info = mapping.order_info(order)
    return order_trade_update(
        order,
        execution=execution,
        status=info["status"],
        filled=order.filled_quantity,
        average=order.average_fill_price,
        time_ms=mapping.ms(order.updated_at),
        now_ms=now_ms,
    )


def _trades(order: Order, fills: list[Fill], *, told_fills: set[int], now_ms: int) -> list[dict]:
    """A TRADE per fill not told yet, each with the order's filled quantity and average price
    as of that fill: FILLED at its last fill once the order is filled, else PARTIALLY_FILLED."""
    events, filled, notional = [], Decimal(0), Decimal(0)
    for index, fill in enumerate(fills):
        filled += fill.quantity
        notional += fill.price * fill.quantity
        if fill.pk in told_fills:
            continue
        last = index == len(fills) - 1
        done = filled >= order.quantity or (last and order.status == Order.Status.FILLED)
        events.append(
            order_trade_update(
                order,
                execution="TRADE",
                status="FILLED" if done else "PARTIALLY_FILLED",
                filled=filled,
                average=notional / filled,
                time_ms=mapping.ms(fill.created_at),
                now_ms=now_ms,
                fill=fill,
            )
        )
    return events


# --- the account ---------------------------------------------------------------------------


def account_view(state) -> dict:
    """What ACCOUNT_UPDATE reports of an AccountState: the USDT balance and, by symbol, the
    positions a one-way client sees (mapping.positions_info's)."""
    balance = {
        "a": "USDT",
        "wb": mapping.figure(state.wallet_balance),
        "cw": mapping.figure(state.figures.wallet_balance),
        "bc": "0",
    }
    positions = {
        info["symbol"]: {
            "s": info["symbol"],
            "pa": info["positionAmt"],
            "ep": info["entryPrice"],
            "bep": info["entryPrice"],
            "cr": "0",
            "up": info["unRealizedProfit"],
            "mt": info["marginType"],
            "iw": info["isolatedWallet"],
            "ps": info["positionSide"],
            "ma": info["marginAsset"],
        }
        for info in mapping.positions_info(state)
    }
    return {"B": balance, "P": positions}


def _closed(entry: dict) -> dict:
    """A position that closed, as Binance reports it: size, entry and wallet 0."""
    zero = {"pa": "0", "ep": "0", "bep": "0", "up": "0", "iw": "0"}
    return {**entry, **zero}


def _moved(before: dict, after: dict) -> bool:
    """A position changed, by what trading does (size, entry, margin), not by the mark (uPnL):
    Binance sends ACCOUNT_UPDATE when a balance or position changes, never on a tick."""
    return {k: v for k, v in before.items() if k != "up"} != {
        k: v for k, v in after.items() if k != "up"
    }


def account_update(before: dict, after: dict, *, reason: str, now_ms: int) -> dict | None:
    """ACCOUNT_UPDATE from the account_view told (``before``) to the current one (None: nothing
    changed): the balance, and the positions that opened, changed or closed."""
    positions = [
        entry
        for symbol, entry in after["P"].items()
        if symbol not in before["P"] or _moved(before["P"][symbol], entry)
    ]
    positions += [
        _closed(entry) for symbol, entry in before["P"].items() if symbol not in after["P"]
    ]
    if not positions and before["B"] == after["B"]:
        return None
    return {
        "e": "ACCOUNT_UPDATE",
        "E": now_ms,
        "T": now_ms,
        "a": {"m": reason, "B": [after["B"]], "P": positions},
    }


def margin_call(rows, *, cross_wallet_balance: Decimal, now_ms: int) -> dict:
    """MARGIN_CALL for the positions (PositionRows) whose margin ratio reached 80 %: an
    isolated position's own, or a cross position's, the account's cross ratio."""
    entries = []
    for row in rows:
        info = mapping.position_info(row, max_notional=Decimal(0))
        entries.append(
            {
                "s": info["symbol"],
                "ps": info["positionSide"],
                "pa": info["positionAmt"],
                "mt": mapping.MARGIN_TYPES[row.position.margin_mode],
                "iw": info["isolatedWallet"],
                "mp": info["markPrice"],
                "up": info["unRealizedProfit"],
                "mm": info["maintMargin"],
            }
        )
    event = {"e": "MARGIN_CALL", "E": now_ms, "p": entries}
    if any(row.position.margin_mode == MarginMode.CROSS for row in rows):
        event["cw"] = mapping.figure(cross_wallet_balance)
    return event


# --- market data ---------------------------------------------------------------------------


def ticker(mark, stats, *, now_ms: int, mini: bool) -> dict:
    """24hrTicker (the ``ticker`` stream) or 24hrMiniTicker (``miniTicker``) of
    mapping.ticker_24h."""
    info = mapping.ticker_24h(mark, stats, now_ms=now_ms)
    event = {
        "e": "24hrMiniTicker" if mini else "24hrTicker",
        "E": now_ms,
        "s": info["symbol"],
        "c": info["lastPrice"],
        "o": info["openPrice"],
        "h": info["highPrice"],
        "l": info["lowPrice"],
        "v": info["volume"],
        "q": info["quoteVolume"],
    }
    if mini:
        return event
    return {
        **event,
        "p": info["priceChange"],
        "P": info["priceChangePercent"],
        "w": info["weightedAvgPrice"],
        "Q": info["lastQty"],
        "O": info["openTime"],
        "C": info["closeTime"],
        "F": info["firstId"],
        "L": info["lastId"],
        "n": info["count"],
    }


def mark_price_update(mark, funding, *, now_ms: int) -> dict:
    """markPriceUpdate of mapping.premium_index."""
    info = mapping.premium_index(mark, funding, now_ms=now_ms)
    return {
        "e": "markPriceUpdate",
        "E": now_ms,
        "s": info["symbol"],
        "p": info["markPrice"],
        "ap": info["markPrice"],
        "P": info["estimatedSettlePrice"],
        "i": info["indexPrice"],
        "r": info["lastFundingRate"],
        "T": info["nextFundingTime"],
    }


def kline(symbol: str, candle, *, interval: str, now_ms: int) -> dict:
    """kline: the candle of mapping.kline_row, still open until its close time."""
    row = mapping.kline_row(candle)
    return {
        "e": "kline",
        "E": now_ms,
        "s": symbol,
        "k": {
            "t": row[0],
            "T": row[6],
            "s": symbol,
            "i": interval,
            "f": 0,
            "L": 0,
            "o": row[1],
            "c": row[4],
            "h": row[2],
            "l": row[3],
            "v": row[5],
            "n": row[8],
            "x": row[6] < now_ms,
            "q": row[7],
            "V": row[9],
            "Q": row[10],
            "B": row[11],
        },
    }


def book_ticker(mark, book, *, now_ms: int) -> dict:
    """bookTicker of mapping.book_ticker (``u``: the book's update id)."""
    info = mapping.book_ticker(mark, book, now_ms=now_ms)
    return {
        "e": "bookTicker",
        "u": info["lastUpdateId"],
        "s": info["symbol"],
        "b": info["bidPrice"],
        "B": info["bidQty"],
        "a": info["askPrice"],
        "A": info["askQty"],
        "T": now_ms,
        "E": now_ms,
    }


def depth_levels(mark, book) -> tuple[dict[str, str], dict[str, str]]:
    """The book's (bids, asks) as price -> quantity, written as /fapi/v1/depth writes them."""
    info = mapping.order_book(mark, book, now_ms=0)
    return dict(info["bids"]), dict(info["asks"])


def depth_update(
    symbol: str,
    before: tuple[dict, dict],
    after: tuple[dict, dict],
    *,
    previous_id: int,
    update_id: int,
    now_ms: int,
) -> dict:
    """depthUpdate from the levels at ``previous_id`` to those at ``update_id``: each level
    that appeared or changed with its quantity, each that went with 0."""

    def changes(old: dict, new: dict) -> list[list[str]]:
        moved = [[price, quantity] for price, quantity in new.items() if old.get(price) != quantity]
        gone = [[price, "0"] for price in old if price not in new]
        return moved + gone

    return {
        "e": "depthUpdate",
        "E": now_ms,
        "T": now_ms,
        "s": symbol,
        "U": previous_id + 1,
        "u": update_id,
        "pu": previous_id,
        "b": changes(before[0], after[0]),
        "a": changes(before[1], after[1]),
    }
