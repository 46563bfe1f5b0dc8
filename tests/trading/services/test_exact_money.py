"""Exact money through the public services, over generated accounts: a deposit of up to 10^12 USDT
to 8 decimals, one or two market fills (so that the entry can be an 8-decimal average), then a
mark past the liquidation price and the sweep (Binance: cut a bracket at a time, each step at
the mark with its liquidation fee, until back in margin or closed whole). The insurance fund's
share is what the user lost beyond each step's PnL at the mark (the fees, and the margin balance
left at the mark), to the last 1e-8, down to the fund's floor of 0; and ``check_ledger`` re-sums
the whole ledger and finds it balanced after every example.

Seeded market (FLAT_BOOK: takers fill at a mark on the tick): BTCUSDT tick 0.1, step 0.001;
ETHUSDT tick 0.01, step 0.001; taker fee 0.05 %; liquidation fee 1.25 %. Each example trades as
a new trader, and ends flat (liquidated, or closed: what a partial liquidation leaves open too),
so that the next example's marks move nothing of it.
"""

import contextlib
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st

from marginsite.errors import ApplicationError
from tests.builders import (
    DATABASE_PROPERTY,
    assert_the_ledger_balances,
    scaled,
    wallet_balance,
)
from trading.domain.holdings import engine_brackets
from trading.engine import max_notional_at_leverage
from trading.models import Instrument, LiquidationEvent, Position
from trading.money import money_received
from trading.selectors import position_list, system_account_balance
from trading.services import (
    leverage_set,
    mark_price_set,
    order_place,
    position_close,
    sweep_run,
    wallet_deposit,
)

pytestmark = pytest.mark.django_db

D = Decimal
TAKER_FEE = D("0.0005")


AMOUNTS = scaled(1, 10**20, 8)  # 0.00000001 .. 10^12 USDT
FRACTIONS = scaled(1, 1000, 3)  # of what the wallet can back
SCALES = scaled(500, 2000, 3)  # a fill's mark: 0.5 .. 2 x the seed mark
MOVES = scaled(0, 6000, 4)  # the mark 0 .. 60 % past the liquidation price


def on_tick(price: Decimal, tick: Decimal) -> Decimal:
    """``price`` rounded down to the tick."""
    return (price / tick).to_integral_value(rounding=ROUND_FLOOR) * tick


def affordable_quantity(user, instrument, *, price, leverage, fraction) -> Decimal:
    """A quantity on the step whose margin and fee take ``fraction`` of the wallet at most,
    within the largest notional the leverage allows."""
    budget = wallet_balance(user) * fraction
    notional = min(
        budget / (D(1) / leverage + TAKER_FEE),
        max_notional_at_leverage(engine_brackets(instrument), leverage),
    )
    step = instrument.step_size
    return (notional / price / step).to_integral_value(rounding=ROUND_FLOOR) * step


def fill(user, instrument, *, side, mode, price, leverage, fraction) -> None:
    """A market order at a mark of ``price``; a refusal (too small, not affordable) is fine:
    it changes nothing, and the ledger is checked all the same."""
    mark_price_set(symbol=instrument.symbol, price=price)
    quantity = affordable_quantity(
        user, instrument, price=price, leverage=leverage, fraction=fraction
    )
    with contextlib.suppress(ApplicationError):
        order_place(
            user=user, symbol=instrument.symbol, side=side, quantity=quantity, margin_mode=mode
        )


def past_liquidation(price: Decimal, *, side: str, move: Decimal, step: Decimal) -> Decimal:
    """A mark ``move`` past the liquidation price, on ``step`` (the tick, as a feed's marks
    usually are, or 1e-8) on the liquidated side of it."""
    rounding = ROUND_FLOOR if side == "LONG" else ROUND_CEILING
    moved = price * (1 - move) if side == "LONG" else price * (1 + move)
    return max((moved / step).to_integral_value(rounding=rounding) * step, step)


@DATABASE_PROPERTY
# the regression: 0.003 BTC isolated at 60,000, 7x (margin 25.71428572, bankruptcy price
# 51,428.5714266...), liquidated at 51,438.8, where s q (mark - bankruptcy) rounded down left the
# fund 0.03068571 of the 0.03068572 the margin balance holds (now the liquidation fee, 1.92895...,
# capped at those 0.03068572)
@example(
    amount=D("0.00000001"),
    symbol="BTCUSDT",
    mode="ISOLATED",
    side="BUY",
    leverage=7,
    prices=(D(1), D(1)),
    fractions=(D("0.003"), D("0.001")),  # the second fill, 0.001 BTC, is below 100 USDT
    move=D("0.0038"),
    mark_on_the_tick=True,
)
@given(
    amount=AMOUNTS,
    symbol=st.sampled_from(["BTCUSDT", "ETHUSDT"]),
    mode=st.sampled_from(["ISOLATED", "CROSS"]),
    side=st.sampled_from(["BUY", "SELL"]),
    leverage=st.sampled_from([1, 2, 3, 7, 10, 20, 50]),
    prices=st.tuples(SCALES, SCALES),
    fractions=st.tuples(FRACTIONS, FRACTIONS),
    move=MOVES,
    mark_on_the_tick=st.booleans(),
)
def test_deposits_trades_and_liquidations_keep_every_1e_8_and_the_ledger_balanced(
    make_trader,
    market,
    amount,
    symbol,
    mode,
    side,
    leverage,
    prices,
    fractions,
    move,
    mark_on_the_tick,
    insurance_fund,
):
    # given an insurance fund with capital (shared by the examples), and a trader who deposits
    # ``amount`` and fills once or twice at marks on the tick
    user = make_trader()
    wallet_deposit(user=user, amount=amount)
    instrument = Instrument.objects.get(symbol=symbol)
    leverage_set(user=user, symbol=symbol, margin_mode=mode, leverage=leverage)
    for scale, fraction in zip(prices, fractions, strict=True):
        price = on_tick(market[symbol] * scale, instrument.tick_size)
        terms = {"side": side, "mode": mode, "leverage": leverage, "fraction": fraction}
        fill(user, instrument, price=price, **terms)
    assert_the_ledger_balances()
    rows = position_list(user=user)
    if not rows:
        event("nothing filled")
        return
    (row,) = rows
    position, liquidation_price = row.position, row.figures.liquidation_price
    if liquidation_price is None or liquidation_price <= instrument.tick_size:
        event("no liquidation price: closed")
        position_close(user=user, symbol=symbol, margin_mode=mode)
        assert_the_ledger_balances()
        return
    # when the mark moves past its liquidation price
    step = instrument.tick_size if mark_on_the_tick else D("1e-8")
    mark = past_liquidation(liquidation_price, side=position.side, move=move, step=step)
    mark_price_set(symbol=symbol, price=mark)
    wallet_before = wallet_balance(user)
    fund_before = system_account_balance("INSURANCE_FUND")
    sign = 1 if position.side == "LONG" else -1

    sweep_run()

    # then the position is liquidated: cut a bracket at a time, each step a fill at the mark,
    # until it is back in margin (the rest stays open) or closed whole
    liquidation = LiquidationEvent.objects.get(user=user)
    event(f"{mode} liquidation{', survived' if liquidation.survived else ''}")
    quantity, margin = position.quantity, position.isolated_margin
    position.refresh_from_db()
    steps = [D(step["quantity"]) for step in liquidation.steps]
    assert {D(step["mark_price"]) for step in liquidation.steps} == {mark}
    assert sum(steps) == quantity - position.quantity
    if liquidation.survived:
        assert position.status == Position.Status.OPEN
    else:
        assert (position.status, position.quantity) == (Position.Status.LIQUIDATED, 0)
    # and the user loses exactly the isolated margin (the wallet untouched), or the cross wallet
    if mode == "ISOLATED":
        assert wallet_balance(user) == wallet_before
        assert liquidation.loss == margin - position.isolated_margin
    elif not liquidation.survived:
        assert (wallet_balance(user), liquidation.loss) == (0, wallet_before)
    else:
        assert wallet_balance(user) == wallet_before - liquidation.loss
    # and the fund's share is what the user lost beyond each step's PnL at the mark (each
    # settled to 1e-8, rounded down): the fees and the margin balance left at the mark, to the
    # last 1e-8; or, past bankruptcy, what it pays, only down to its floor of 0
    with localcontext(prec=60):
        pnl = sum(money_received(sign * q * (mark - position.entry_price)) for q in steps)
    share = max(liquidation.loss + pnl, -fund_before)
    assert liquidation.insurance_fund_change == share
    assert system_account_balance("INSURANCE_FUND") - fund_before == share
    if liquidation.survived:  # the example ends flat, so that the next one's marks move nothing
        position_close(user=user, symbol=symbol, margin_mode=mode)
    # and check_ledger re-sums the whole ledger, every example's, and finds it balanced
    assert_the_ledger_balances()
