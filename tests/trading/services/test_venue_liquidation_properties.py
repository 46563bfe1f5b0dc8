"""Liquidation on every venue profile, over generated accounts and marks, through the public
services and the sweep: a trader opens one position on BTCUSDT (Binance's rules), BTCUSDT-BYBIT
or BTCUSDT-HL (Hyperliquid's), in either mode, with an isolated ETHUSDT position beside it.

- One tick inside the displayed liquidation price, the sweep changes nothing; one tick past it,
  it liquidates (a partial step or the whole position, as the venue does).
- Then the mark gaps far past bankruptcy: the position is closed whole, the insurance fund pays
  what it can and auto-deleveraging the rest (there is no opposite side here: the house keeps it).
- Throughout: an isolated liquidation never takes more than the position's margin, nor anything
  from the wallet; a cross one never takes the wallet below 0 nor touches the isolated ETHUSDT
  position; the fund never goes below 0; ``check_ledger`` balances.
"""

import contextlib
from decimal import ROUND_FLOOR, Decimal

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from marginsite.errors import ApplicationError
from tests.builders import (
    DATABASE_PROPERTY,
    assert_the_ledger_balances,
    scaled,
    wallet_balance,
)
from trading.models import Instrument, LiquidationEvent, Position
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
BTC = ("BTCUSDT", "BTCUSDT-BYBIT", "BTCUSDT-HL")


def open_position(user, symbol, *, side, mode, leverage, fraction, price) -> Position | None:
    """A market order for ``fraction`` of what the wallet backs at ``leverage`` (None: refused,
    which changes nothing)."""
    instrument = Instrument.objects.get(symbol=symbol)
    mark_price_set(symbol=symbol, price=price)
    leverage_set(user=user, symbol=symbol, margin_mode=mode, leverage=leverage)
    notional = wallet_balance(user) * fraction * leverage / (1 + leverage * D("0.001"))
    step = instrument.step_size
    quantity = (notional / price / step).to_integral_value(rounding=ROUND_FLOOR) * step
    with contextlib.suppress(ApplicationError):
        order_place(user=user, symbol=symbol, side=side, quantity=quantity, margin_mode=mode)
        return Position.objects.get(
            user=user, instrument=instrument, margin_mode=mode, status=Position.Status.OPEN
        )
    return None


def displayed_liquidation_price(user, position) -> Decimal | None:
    row = next(r for r in position_list(user=user) if r.position.pk == position.pk)
    return row.liquidation_price_display


def assert_the_invariants(user, *, mode, wallet_before, margin_before, eth) -> None:
    """The fund, the wallet, the isolated margins and the ledger after a sweep."""
    assert system_account_balance("INSURANCE_FUND") >= 0
    assert wallet_balance(user) >= 0
    events = LiquidationEvent.objects.filter(user=user)  # ETHUSDT's mark never moves
    if mode == "ISOLATED":
        assert wallet_balance(user) == wallet_before
        assert sum(e.loss for e in events) <= margin_before
    if eth is not None:  # a cross liquidation never touches an isolated position
        eth_now = Position.objects.get(pk=eth.pk)
        assert (eth_now.status, eth_now.isolated_margin) == ("OPEN", eth.isolated_margin)
    assert_the_ledger_balances()


@DATABASE_PROPERTY
@given(
    amount=scaled(10_000, 10**15, 8),  # 100 .. 10^7 USDT
    symbol=st.sampled_from(BTC),
    mode=st.sampled_from(["ISOLATED", "CROSS"]),
    side=st.sampled_from(["BUY", "SELL"]),
    leverage=st.sampled_from([2, 5, 10, 20, 40]),
    fraction=scaled(100, 950, 3),
    price=scaled(30_000_0, 90_000_0, 1),
    with_eth=st.booleans(),
    gap=scaled(1, 5, 1),  # the last mark 10 .. 50 % past the liquidation price
)
def test_every_profile_liquidates_at_its_displayed_price_and_never_loses_a_cent(
    make_trader,
    venue_market,
    insurance_fund,
    amount,
    symbol,
    mode,
    side,
    leverage,
    fraction,
    price,
    with_eth,
    gap,
):
    # given a trader with a position on ``symbol`` (and an isolated ETHUSDT one beside it)
    user = make_trader()
    wallet_deposit(user=user, amount=amount)
    eth = None
    if with_eth:
        eth = open_position(
            user, "ETHUSDT", side="BUY", mode="ISOLATED", leverage=5, fraction=D("0.1"),
            price=D("3000"),
        )  # fmt: skip
    position = open_position(
        user, symbol, side=side, mode=mode, leverage=leverage, fraction=fraction, price=price
    )
    if position is None:
        event("refused")
        return
    tick = position.instrument.tick_size
    shown = displayed_liquidation_price(user, position)
    if shown is None or shown <= 2 * tick:
        event("no liquidation price")
        position_close(user=user, symbol=symbol, margin_mode=mode)
        return
    sign = 1 if position.side == "LONG" else -1
    wallet_before, margin_before = wallet_balance(user), position.isolated_margin
    facts = {"mode": mode, "wallet_before": wallet_before, "margin_before": margin_before}

    # when the mark stops one tick inside the displayed price, nothing happens
    mark_price_set(symbol=symbol, price=shown + sign * tick)
    sweep_run()
    assert not LiquidationEvent.objects.filter(user=user).exists()
    assert Position.objects.get(pk=position.pk).quantity == position.quantity

    # when it goes one tick past, the position is liquidated (a step, or whole)
    mark_price_set(symbol=symbol, price=shown - sign * tick)
    sweep_run()
    first = LiquidationEvent.objects.get(user=user)
    event(f"{symbol} {mode}: {'a step, survived' if first.survived else 'closed whole'}")
    assert_the_invariants(user, **facts, eth=eth)

    # when the mark gaps far past, whatever is left is closed whole
    if Position.objects.filter(pk=position.pk, status=Position.Status.OPEN).exists():
        mark_price_set(symbol=symbol, price=(shown * (1 - sign * gap)).quantize(tick))
        sweep_run()
        assert Position.objects.get(pk=position.pk).status == Position.Status.LIQUIDATED
        assert_the_invariants(user, **facts, eth=eth)
    if eth is not None:  # the example ends flat, so that the next one's marks move nothing
        position_close(user=user, symbol="ETHUSDT", margin_mode="ISOLATED")
    assert_the_ledger_balances()
