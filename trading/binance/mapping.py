"""marginsite's objects in Binance USD-M's response shapes.

Figures are strings, as Binance sends them: amounts and prices with 8 decimals (exact for what
the database holds; the engine's exact figures, such as a liquidation price, rounded half-even
at the 8th), steps and filters without trailing zeros. The few fields Binance sends as JSON
numbers (leverage brackets, the amount of a margin change) are numbers here too.

Binance keeps one position per symbol (in one-way mode) and one margin type per symbol;
marginsite keys positions by (symbol, margin mode). The facade shows per symbol the position of
the symbol's margin type (selectors.account_state), with its ``marginType`` and ``positionSide``
"BOTH" (one-way mode). Conditional orders (STOP_MARKET, TAKE_PROFIT_MARKET, TRAILING_STOP_MARKET)
are Binance's algo orders: their ``algoId`` is marginsite's order id.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from trading.binance.selectors import CONDITIONAL_TYPES
from trading.domain.funding import CLAMP
from trading.domain.triggers import trailing_stop_price
from trading.inputs import LARGEST_INPUT
from trading.models import (
    Fill,
    FundingSettlement,
    Instrument,
    MarginMode,
    Order,
    OrderType,
    TimeInForce,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EIGHT_PLACES = Decimal("1e-8")
PERPETUAL_DELIVERY_MS = 4133404800000  # Binance's delivery date of a perpetual (2100-12-25)
MARGIN_TYPES = {MarginMode.CROSS: "CROSSED", MarginMode.ISOLATED: "ISOLATED"}
ALGO_STATUSES = {
    Order.Status.NEW: "NEW",
    Order.Status.FILLED: "FINISHED",
    Order.Status.CANCELED: "CANCELED",
    Order.Status.EXPIRED: "EXPIRED",
}
# Every account's modes (accountConfig and account): fee tier 0 (Binance's VIP 0, maker 0.02 %
# and taker 0.05 %: the seeded instruments' rates), no transfers in or out, Single-Asset mode,
# no trade group.
ACCOUNT_MODES = {
    "feeTier": 0,
    "canTrade": True,
    "canDeposit": False,
    "canWithdraw": False,
    "multiAssetsMargin": False,
    "tradeGroupId": -1,
}
CONTRACT_STATUSES = {Instrument.Status.TRADING: "TRADING", Instrument.Status.HALTED: "SETTLING"}


def ms(moment: datetime) -> int:
    """Milliseconds since the epoch, Binance's times (exact: no float on the way)."""
    return (moment - EPOCH) // timedelta(milliseconds=1)


def figure(value: Decimal | int | None) -> str:
    """An amount or price with 8 decimals; None (no figure) is "0", as Binance sends it. (An int:
    a model field's default on a row just created.)"""
    if value is None:
        return "0"
    rounded = Decimal(value).quantize(EIGHT_PLACES, rounding=ROUND_HALF_EVEN)
    return f"{rounded + 0:f}"  # + 0: a negative zero prints as zero


def step(value: Decimal) -> str:
    """A step, tick or filter bound without trailing zeros ("0.1", "100")."""
    return f"{value.normalize():f}"


def number(value: Decimal) -> int | float:
    """A JSON number, for the fields Binance sends as numbers. The values are short decimals
    (rates, caps), whose shortest float text is their own digits."""
    return int(value) if value == value.to_integral_value() else float(value)


def decimals(value: Decimal) -> int:
    """How many decimals a step has (Binance's pricePrecision / quantityPrecision)."""
    return max(0, -value.normalize().as_tuple().exponent)


def margin_type_lower(margin_mode: str) -> str:
    """positionRisk's spelling: "cross" / "isolated"."""
    return "cross" if margin_mode == MarginMode.CROSS else "isolated"


def symbol_info(instrument: Instrument) -> dict:
    """One symbol of exchangeInfo. The filters' maxima are the largest figures marginsite
    accepts in an order (below 10^15, on the step)."""
    tick, lot = instrument.tick_size, instrument.step_size
    lot_size = {
        "minQty": step(instrument.min_quantity),
        "maxQty": step(LARGEST_INPUT - lot),
        "stepSize": step(lot),
    }
    return {
        "symbol": instrument.symbol,
        "pair": instrument.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": PERPETUAL_DELIVERY_MS,
        "onboardDate": 0,
        "status": CONTRACT_STATUSES[instrument.status],
        "baseAsset": instrument.base_asset,
        "quoteAsset": instrument.quote_asset,
        "marginAsset": instrument.quote_asset,
        "pricePrecision": decimals(tick),
        "quantityPrecision": decimals(lot),
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "liquidationFee": step(instrument.liquidation_fee_rate),
        # not Binance's: the rule profile the symbol follows (always Binance's here), for a
        # reader who compares it with the website
        "ruleProfile": instrument.venue,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": step(tick),
                "maxPrice": step(LARGEST_INPUT - tick),
                "tickSize": step(tick),
            },
            {"filterType": "LOT_SIZE", **lot_size},
            {"filterType": "MARKET_LOT_SIZE", **lot_size},
            {"filterType": "MIN_NOTIONAL", "notional": step(instrument.min_notional)},
        ],
        "orderTypes": [
            "LIMIT",
            "MARKET",
            "STOP_MARKET",
            "TAKE_PROFIT_MARKET",
            "TRAILING_STOP_MARKET",
        ],
        "timeInForce": list(TimeInForce.values),
    }


def brackets_info(instrument: Instrument) -> dict:
    """leverageBracket's entry of a symbol (numbers, as Binance sends them)."""
    return {
        "symbol": instrument.symbol,
        "notionalCoef": 1.0,
        "brackets": [
            {
                "bracket": bracket.tier,
                "initialLeverage": bracket.max_leverage,
                "notionalCap": number(bracket.notional_cap),
                "notionalFloor": number(bracket.notional_floor),
                "maintMarginRatio": number(bracket.maintenance_margin_rate),
                "cum": number(bracket.maintenance_amount),
            }
            for bracket in instrument.brackets.all()
        ],
    }


def _order_common(order: Order) -> dict:
    return {
        "symbol": order.instrument.symbol,
        "side": order.side,
        "positionSide": "BOTH",
        "timeInForce": order.time_in_force,
        "reduceOnly": order.reduce_only,
        "closePosition": order.close_position,
        "workingType": "MARK_PRICE",
        "priceProtect": False,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "NONE",
        "goodTillDate": 0,
        "updateTime": ms(order.updated_at),
    }


def order_info(order: Order) -> dict:
    """An order as /fapi/v1/order answers it (the RESULT response of a new order). A triggered
    conditional order is read here as the MARKET order it became (its ``origType`` the
    conditional type, its ``time`` the trigger's), as Binance shows the actual order."""
    filled, average = order.filled_quantity, order.average_fill_price
    # /fapi/v1/order reads a conditional order only once it has executed (selectors._orders)
    triggered = order.order_type in CONDITIONAL_TYPES
    return {
        **_order_common(order),
        "orderId": order.pk,
        "clientOrderId": order.client_order_id,
        "status": _order_status(order),
        "type": "MARKET" if triggered else order.order_type,
        "origType": order.order_type,
        "price": figure(order.price),
        "avgPrice": figure(average),
        "origQty": figure(order.quantity),
        "executedQty": figure(filled),
        "cumQty": figure(filled),
        "cumQuote": figure(filled * average if average is not None else None),
        "stopPrice": figure(_trigger_price(order)),
        "time": ms(order.updated_at if triggered else order.created_at),
        **(
            {
                "activatePrice": figure(order.activation_price),
                "priceRate": step(order.callback_rate),
            }
            if order.order_type == OrderType.TRAILING_STOP_MARKET
            else {}
        ),
    }


def _trigger_price(order: Order) -> Decimal | None:
    """A stop's stop price; a trailing stop's, the mark it triggers at now (None before it is
    active), to the tick, as Binance shows it."""
    if order.order_type != OrderType.TRAILING_STOP_MARKET:
        return order.stop_price
    if order.trailing_extreme is None:
        return None
    level = trailing_stop_price(
        side=order.side, extreme=order.trailing_extreme, callback_rate=order.callback_rate
    )
    return level.quantize(order.instrument.tick_size, rounding=ROUND_HALF_EVEN)


def _order_status(order: Order) -> str:
    """An open order that has filled in part (a GTC limit whose rest rests) is Binance's
    PARTIALLY_FILLED; marginsite keeps it NEW, with its filled quantity."""
    if order.status == Order.Status.NEW and order.filled_quantity:
        return "PARTIALLY_FILLED"
    return order.status


def algo_order_info(order: Order) -> dict:
    """A conditional order as /fapi/v1/algoOrder answers it. Once triggered, marginsite executes
    the order itself: ``actualOrderId`` is the same id, which /fapi/v1/order answers (the MARKET
    order it became) and its fills carry. An order that could not execute when it triggered
    (its checks failed then) is EXPIRED, with no actual order; one the book filled only in part
    executed what it filled, and is FINISHED with that actual order."""
    triggered = order.filled_quantity > 0
    # a close-position order has no size until it triggers (Binance shows 0)
    quantity = order.quantity if triggered or not order.close_position else None
    return {
        **_order_common(order),
        "algoId": order.pk,
        "clientAlgoId": order.client_order_id,
        "algoType": "CONDITIONAL",
        "orderType": order.order_type,
        "quantity": figure(quantity),
        "algoStatus": ALGO_STATUSES[Order.Status.FILLED if triggered else order.status],
        "triggerPrice": figure(_trigger_price(order)),
        "price": figure(None),
        "icebergQuantity": None,
        "createTime": ms(order.created_at),
        "triggerTime": ms(order.updated_at) if triggered else 0,
        "actualOrderId": str(order.pk) if triggered else "",
        "actualPrice": figure(order.average_fill_price),
        **(
            {
                "activatePrice": figure(order.activation_price),
                "callbackRate": step(order.callback_rate),
            }
            if order.order_type == OrderType.TRAILING_STOP_MARKET
            else {}
        ),
    }


def trade_info(fill: Fill) -> dict:
    """A fill as /fapi/v1/userTrades answers it."""
    order = fill.order
    return {
        "id": fill.pk,
        "orderId": order.pk,
        "symbol": order.instrument.symbol,
        "side": order.side,
        "positionSide": "BOTH",
        "buyer": order.side == "BUY",
        "maker": fill.liquidity == Fill.Liquidity.MAKER,
        "price": figure(fill.price),
        "qty": figure(fill.quantity),
        "quoteQty": figure(fill.price * fill.quantity),
        "realizedPnl": figure(fill.realized_pnl),
        "commission": figure(fill.fee),
        "commissionAsset": order.instrument.quote_asset,
        "time": ms(fill.created_at),
    }


def position_info(row, *, max_notional: Decimal) -> dict:
    """A position (a PositionRow) as positionRisk v2 and v3 answer it, both sets of fields:
    a signed ``positionAmt`` and ``notional`` (negative for a short), ``isolatedWallet`` (the
    isolated margin) and ``isolatedMargin`` (that margin plus the unrealized PnL, as Binance
    reports it), the exact liquidation price ("0": none)."""
    position, figures = row.position, row.figures
    sign = 1 if position.side == "LONG" else -1
    isolated = position.margin_mode == MarginMode.ISOLATED
    return {
        "symbol": position.instrument.symbol,
        "positionSide": "BOTH",
        "marginType": margin_type_lower(position.margin_mode),
        "positionAmt": figure(sign * position.quantity),
        "entryPrice": figure(position.entry_price),
        "markPrice": figure(row.mark_price),
        "unRealizedProfit": figure(figures.unrealized_pnl),
        "liquidationPrice": figure(figures.liquidation_price),
        "leverage": str(position.leverage),
        "maxNotionalValue": figure(max_notional),
        "isolatedMargin": figure(position.isolated_margin + figures.unrealized_pnl)
        if isolated
        else figure(Decimal(0)),
        "isolatedWallet": figure(position.isolated_margin),
        "isAutoAddMargin": "false",
        "notional": figure(sign * figures.notional),
        "marginAsset": position.instrument.quote_asset,
        "initialMargin": figure(figures.initial_margin),
        "positionInitialMargin": figure(figures.initial_margin),
        "openOrderInitialMargin": figure(Decimal(0)),
        "maintMargin": figure(figures.maintenance_margin),
        "adl": 0,
        "bidNotional": "0",
        "askNotional": "0",
        "updateTime": ms(position.updated_at),
    }


def positions_info(state) -> list[dict]:
    """positionRisk (v2 and v3) of an AccountState's positions."""
    return [
        position_info(row, max_notional=state.max_notionals[row.position.pk]) for row in state.rows
    ]


def account_info(state) -> dict:
    """/fapi/v2|v3/account (an AccountState): one asset, USDT, and the open positions. The
    wallet balance is Binance's (the cross wallet plus the isolated margins); the cross wallet
    balance is marginsite's wallet."""
    figures = state.figures
    margin_balance = state.wallet_balance + state.unrealized_pnl
    initial = state.position_initial_margin + figures.open_order_margin
    totals = {
        "InitialMargin": figure(initial),
        "MaintMargin": figure(state.maintenance_margin),
        "WalletBalance": figure(state.wallet_balance),
        "UnrealizedProfit": figure(state.unrealized_pnl),
        "MarginBalance": figure(margin_balance),
        "PositionInitialMargin": figure(state.position_initial_margin),
        "OpenOrderInitialMargin": figure(figures.open_order_margin),
        "CrossWalletBalance": figure(figures.wallet_balance),
        "CrossUnPnl": figure(figures.cross_unrealized_pnl),
    }
    available = figure(figures.available_balance)
    asset = {
        "asset": "USDT",
        "walletBalance": totals["WalletBalance"],
        "unrealizedProfit": totals["UnrealizedProfit"],
        "marginBalance": totals["MarginBalance"],
        "maintMargin": totals["MaintMargin"],
        "initialMargin": totals["InitialMargin"],
        "positionInitialMargin": totals["PositionInitialMargin"],
        "openOrderInitialMargin": totals["OpenOrderInitialMargin"],
        "crossWalletBalance": totals["CrossWalletBalance"],
        "crossUnPnl": totals["CrossUnPnl"],
        "availableBalance": available,
        "maxWithdrawAmount": available,
        "marginAvailable": True,
        "updateTime": ms(state.read_at),
    }
    return {
        **ACCOUNT_MODES,
        "updateTime": ms(state.read_at),
        **{f"total{name}": value for name, value in totals.items()},
        "availableBalance": available,
        "maxWithdrawAmount": available,
        "assets": [asset],
        "positions": [
            {
                "symbol": row.position.instrument.symbol,
                "positionSide": "BOTH",
                "marginType": margin_type_lower(row.position.margin_mode),
                "isolated": row.position.margin_mode == MarginMode.ISOLATED,
                "positionAmt": info["positionAmt"],
                "entryPrice": info["entryPrice"],
                "unrealizedProfit": info["unRealizedProfit"],
                "leverage": info["leverage"],
                "isolatedMargin": info["isolatedMargin"],
                "isolatedWallet": info["isolatedWallet"],
                "notional": info["notional"],
                "initialMargin": info["initialMargin"],
                "positionInitialMargin": info["positionInitialMargin"],
                "openOrderInitialMargin": info["openOrderInitialMargin"],
                "maintMargin": info["maintMargin"],
                "maxNotional": info["maxNotionalValue"],
                "bidNotional": "0",
                "askNotional": "0",
                "updateTime": info["updateTime"],
            }
            for row, info in zip(state.rows, positions_info(state), strict=True)
        ],
    }


def balance_info(state) -> list[dict]:
    """/fapi/v2|v3/balance: the USDT asset."""
    available = figure(state.figures.available_balance)
    return [
        {
            "accountAlias": "marginsite",
            "asset": "USDT",
            "balance": figure(state.wallet_balance),
            "crossWalletBalance": figure(state.figures.wallet_balance),
            "crossUnPnl": figure(state.figures.cross_unrealized_pnl),
            "availableBalance": available,
            "maxWithdrawAmount": available,
            "marginAvailable": True,
            "updateTime": ms(state.read_at),
        }
    ]


def ticker_24h(mark, stats, *, now_ms: int) -> dict:
    """/fapi/v1/ticker/24hr of a mark and its DayStats. marginsite has no market volume (its
    counterparty is the house), so the volumes and trade counts are 0."""
    change = mark.price - stats.open
    percent = (change / stats.open * 100).quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN)
    return {
        "symbol": mark.instrument.symbol,
        "priceChange": figure(change),
        "priceChangePercent": f"{percent + 0:f}",
        "weightedAvgPrice": figure(mark.price),
        "lastPrice": figure(mark.price),
        "lastQty": "0",
        "openPrice": figure(stats.open),
        "highPrice": figure(stats.high),
        "lowPrice": figure(stats.low),
        "volume": "0",
        "quoteVolume": "0",
        "openTime": ms(stats.opened_at),
        "closeTime": now_ms,
        "firstId": 0,
        "lastId": 0,
        "count": 0,
    }


def price_ticker(mark) -> dict:
    return {
        "symbol": mark.instrument.symbol,
        "price": figure(mark.price),
        "time": ms(mark.updated_at),
    }


def premium_index(mark, funding, *, now_ms: int) -> dict:
    """/fapi/v1/premiumIndex of a mark and its Funding. marginsite prices everything at the
    mark: it is the index and the settle price too."""
    price = figure(mark.price)
    return {
        "symbol": mark.instrument.symbol,
        "markPrice": price,
        "indexPrice": price,
        "estimatedSettlePrice": price,
        "lastFundingRate": figure(funding.rate),
        "interestRate": figure(funding.interest_rate),
        "nextFundingTime": ms(funding.next_time),
        "time": now_ms,
    }


def kline_row(kline) -> list:
    """A Kline as Binance's array (no volume: see ticker_24h)."""
    opened = ms(kline.opened_at)
    return [
        opened,
        figure(kline.open),
        figure(kline.high),
        figure(kline.low),
        figure(kline.close),
        "0",
        opened + kline.minutes * 60_000 - 1,
        "0",
        0,
        "0",
        "0",
        "0",
    ]


def _best(levels) -> tuple[str, str]:
    """The best level's (price, quantity) as Binance writes them; ("0", "0") for an empty side
    (a maximum slippage below the half spread)."""
    if not levels:
        return figure(None), figure(None)
    price, quantity = levels[0]
    return figure(price), figure(quantity)


def order_book(mark, book, *, now_ms: int) -> dict:
    """/fapi/v1/depth: the instrument's book around ``mark`` (an engine Book, best levels
    first): the levels its orders fill against. ``lastUpdateId`` is the mark's time (the book
    moves with the mark alone)."""
    return {
        "lastUpdateId": ms(mark.updated_at),
        "E": now_ms,
        "T": now_ms,
        "bids": [[figure(price), figure(quantity)] for price, quantity in book.bids],
        "asks": [[figure(price), figure(quantity)] for price, quantity in book.asks],
    }


def book_ticker(mark, book, *, now_ms: int) -> dict:
    """/fapi/v1/ticker/bookTicker: the best bid and ask of the book around ``mark``."""
    bid_price, bid_quantity = _best(book.bids)
    ask_price, ask_quantity = _best(book.asks)
    return {
        "symbol": mark.instrument.symbol,
        "bidPrice": bid_price,
        "bidQty": bid_quantity,
        "askPrice": ask_price,
        "askQty": ask_quantity,
        "time": now_ms,
        "lastUpdateId": ms(mark.updated_at),
    }


def funding_rate_info(settlement: FundingSettlement) -> dict:
    """A settlement as /fapi/v1/fundingRate answers it: the rate and mark it was paid at."""
    return {
        "symbol": settlement.instrument.symbol,
        "fundingRate": figure(settlement.rate),
        "fundingTime": ms(settlement.funding_time),
        "markPrice": figure(settlement.mark_price),
    }


def funding_interval_info(instrument: Instrument, *, interval: timedelta) -> dict:
    """/fapi/v1/fundingInfo of a symbol: marginsite's one funding interval (whole hours as
    Binance sends them; a shorter demo interval as a fraction of an hour) and its rate clamp."""
    return {
        "symbol": instrument.symbol,
        "adjustedFundingRateCap": figure(CLAMP),
        "adjustedFundingRateFloor": figure(-CLAMP),
        "fundingIntervalHours": number(Decimal(interval / timedelta(minutes=1)) / 60),
        "disclaimer": False,
    }


def commission_rate_info(instrument: Instrument) -> dict:
    """/fapi/v1/commissionRate: the instrument's fees (marginsite's rates are per instrument,
    the same for every user)."""
    return {
        "symbol": instrument.symbol,
        "makerCommissionRate": step(instrument.maker_fee_rate),
        "takerCommissionRate": step(instrument.taker_fee_rate),
    }


def account_config_info() -> dict:
    """/fapi/v1/accountConfig: the account's modes, one-way (updateTime is 0: Binance's
    "reserved" field)."""
    return {**ACCOUNT_MODES, "dualSidePosition": False, "updateTime": 0}


def income_info(income) -> dict:
    entry = income.entry
    return {
        "symbol": income.symbol,
        "incomeType": income.income_type,
        "income": figure(income.amount),
        "asset": "USDT",
        "info": entry.get_kind_display(),
        "time": ms(entry.created_at),
        "tranId": entry.pk,
        "tradeId": "",
    }


def _buyer_is_maker(fill: Fill) -> bool:
    """Every fill is a user's order against the house: the buyer is the maker when the user's
    order bought as a maker or sold as a taker."""
    return (fill.order.side == "BUY") == (fill.liquidity == Fill.Liquidity.MAKER)


def public_trade_info(fill: Fill) -> dict:
    """A fill as /fapi/v1/trades answers it: the venue's execution, naming no user or order."""
    return {
        "id": fill.pk,
        "price": figure(fill.price),
        "qty": figure(fill.quantity),
        "quoteQty": figure(fill.price * fill.quantity),
        "time": ms(fill.created_at),
        "isBuyerMaker": _buyer_is_maker(fill),
    }


def aggregate_trade_info(fill: Fill) -> dict:
    """A fill as /fapi/v1/aggTrades answers it: each fill is its own aggregate (marginsite
    fills one order against the house, never against another user's fills at one price)."""
    return {
        "a": fill.pk,
        "p": figure(fill.price),
        "q": figure(fill.quantity),
        "f": fill.pk,
        "l": fill.pk,
        "T": ms(fill.created_at),
        "m": _buyer_is_maker(fill),
    }


def open_interest_info(instrument: Instrument, quantity: Decimal, *, now_ms: int) -> dict:
    return {"openInterest": figure(quantity), "symbol": instrument.symbol, "time": now_ms}


def liquidation_order_info(order: Order) -> dict:
    """A liquidation's closing order as /fapi/v1/forceOrders answers it: Binance names these
    orders "autoclose-..."."""
    return {**order_info(order), "clientOrderId": f"autoclose-{order.pk}"}


def margin_change_info(change) -> dict:
    """A margin adjustment as /fapi/v1/positionMargin/history answers it."""
    return {
        "symbol": change.symbol,
        "type": change.kind,
        "deltaType": "USER_ADJUST",
        "amount": figure(change.entry.amount),
        "asset": "USDT",
        "time": ms(change.entry.created_at),
        "positionSide": "BOTH",
    }


def premium_kline_row(kline) -> list:
    """A premium index candle: marginsite's mark is its index too (one price feed), so the
    premium of every candle is 0."""
    zero = Decimal(0)
    return kline_row(replace(kline, open=zero, high=zero, low=zero, close=zero))


# marginsite never auto-deleverages: the house is the other side of every position.
NO_ADL_RISK = "LOW"


def adl_quantile_info(symbol: str, sides: dict[str, int]) -> dict:
    """One-way mode's shape: LONG and SHORT by side, BOTH the symbol's (the higher: a cross and
    an isolated position of one symbol may face opposite ways here)."""
    long, short = sides.get("LONG", 0), sides.get("SHORT", 0)
    return {
        "symbol": symbol,
        "adlQuantile": {"LONG": long, "SHORT": short, "BOTH": max(long, short)},
    }


def adl_risk_info(instrument: Instrument, *, now_ms: int) -> dict:
    return {"symbol": instrument.symbol, "adlRisk": NO_ADL_RISK, "updateTime": now_ms}
