"""``account_watch_set``: store the watch price of each open position of an account and clear its
``sweep_due`` flag, so that the sweep leaves it alone until a mark reaches a watch price or the
account changes again (the maths and why it is safe: trading/engine/watch.py)."""

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from trading import engine
from trading.domain.holdings import Holdings
from trading.models import MarginMode, Position, PositionSide, Wallet
from trading.money import QUANTUM, ZERO

# Above any mark a price column can hold: a short whose watch price is past it is never due.
PRICE_CEILING = Decimal("9999999999999999")


def _stored(price: Decimal, side: str) -> Decimal:
    """Rounded and clamped towards the mark, so the stored price is reached no later than the
    exact one."""
    if side == PositionSide.LONG:
        return max(ZERO, price.quantize(QUANTUM, rounding=ROUND_CEILING))
    return min(PRICE_CEILING, price.quantize(QUANTUM, rounding=ROUND_FLOOR))


def watch_prices_of(positions: list[Position], holdings: Holdings) -> dict[int, Decimal] | None:
    """Position id -> stored watch price for the account's open ``positions``; None when the
    cross positions or an isolated one are liquidatable now."""
    figures = holdings.figures()

    def state(position):
        return holdings.holdings[(position.instrument_id, position.margin_mode)].position

    cross = [p for p in positions if p.margin_mode == MarginMode.CROSS]
    groups = [
        (
            cross,
            engine.watch_prices(
                [state(p) for p in cross],
                margin_balance=figures.cross_margin_balance,
                maintenance=figures.cross_maintenance_margin,
            ),
        )
    ]
    for position in positions:
        if position.margin_mode == MarginMode.ISOLATED:
            own = holdings.position_figures((position.instrument_id, MarginMode.ISOLATED))
            prices = engine.watch_prices(
                [state(position)],
                margin_balance=own.margin_balance,
                maintenance=own.maintenance_margin,
            )
            groups.append(([position], prices))
    if any(prices is None for _, prices in groups):
        return None
    return {
        position.pk: _stored(price, position.side)
        for members, prices in groups
        for position, price in zip(members, prices, strict=True)
    }


def account_watch_set(
    *, wallet: Wallet, positions: list[Position], holdings: Holdings, writes=None
) -> bool:
    """Within the caller's transaction, with the wallet and ``positions`` (the account's open
    ones) locked and ``holdings`` loaded from them. An account liquidatable now keeps
    ``sweep_due`` (the sweep liquidates it): returns False. A sweep passes its batch's
    ``writes`` (trading/services/write_batches.py), which writes the rows with its others."""
    prices = watch_prices_of(positions, holdings)
    if prices is None:
        return False
    for position in positions:
        position.watch_price = prices[position.pk]
    wallet.sweep_due = False
    if writes is not None:
        for row in (*positions, wallet):
            writes.update(row)
        return True
    Position.objects.bulk_update(positions, ["watch_price"])
    wallet.save(update_fields=["sweep_due"])
    return True
