"""Auto-deleveraging: when the insurance fund cannot cover a bankrupt position's loss, the
opposite side pays it.

The positions on the other side of the bankrupt one are taken in their queue's order
(trading/selectors/deleveraging.py: in profit, ranked by the venue's rule) and closed at the
bankrupt position's bankruptcy price, without a fee, until the quantity that recovers the
uncovered loss is closed (trading/domain/liquidation.py, ``deleverage_need``). Each one's owner
gets a notice and a receipt (a Deleveraging row, and the fill in their trades).

It runs inside the liquidation's transaction, which holds the bankrupt account's locks and the
insurance fund's. The other accounts' rows are taken with SKIP LOCKED, after those: an account
busy with its owner's order is passed over for the next in the queue, so this never waits on a
lock held by someone who may be waiting for the fund. The bankrupt account's own opposite
position is not taken (its rows are this transaction's). What the queue cannot close, the house
(the paper counterparty) absorbs: it is paid less, and no one's balance goes below 0.
"""

from decimal import Decimal

from trading.domain.holdings import position_held
from trading.domain.liquidation import DeleverageNeed
from trading.domain.settlement import fill_settlement
from trading.domain.sides import engine_side
from trading.models import (
    Deleveraging,
    Fill,
    Journal,
    MarginMode,
    Notification,
    Position,
    Wallet,
)
from trading.money import ZERO, usdt
from trading.selectors.deleveraging import adl_ranking
from trading.services.fills import closing_order_filled, reduce_only_orders_cancel, settlement_book
from trading.services.ledger import journal_open
from trading.services.live import live_account_changed
from trading.services.locks import insurance_fund_lock


def deleverage(*, position: Position, need: DeleverageNeed, mark: Decimal) -> list[dict]:
    """Close ``need.quantity`` of the side opposite to the bankrupt ``position`` at
    ``need.price`` (see the module). Returns what was closed, as the bankrupt's receipt shows
    it: symbol, quantity and price, no one's name."""
    remaining = need.quantity
    closed = []
    for rank in deleverage_queue(position):
        if remaining <= 0:
            break
        if rank.user_id == position.user_id:
            continue
        quantity = _deleverage_one(rank, remaining, need.price, mark)
        if quantity:
            remaining -= quantity
            closed.append(
                {
                    "symbol": position.instrument.symbol,
                    "quantity": str(quantity),
                    "price": str(need.price),
                }
            )
    return closed


def deleverage_queue(position: Position) -> list:
    """The queue on the side opposite to the bankrupt ``position``, first to go first."""
    opposite = "SHORT" if position.side == "LONG" else "LONG"
    return adl_ranking(instrument=position.instrument, side=opposite)


def _deleverage_one(rank, quantity: Decimal, price: Decimal, mark: Decimal) -> Decimal:
    """Close up to ``quantity`` of the ranked position at ``price``; 0 if its account is busy."""
    wallet = Wallet.objects.select_for_update(skip_locked=True).filter(user_id=rank.user_id).first()
    position = (
        Position.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("instrument", "user")
        .filter(pk=rank.position_id, status=Position.Status.OPEN)
        .first()
    )
    if wallet is None or position is None:
        return ZERO
    quantity = min(quantity, position.quantity)
    settlement = fill_settlement(
        position=position_held(position),
        isolated=position.margin_mode == MarginMode.ISOLATED,
        wallet_balance=wallet.balance,
        side=-engine_side(position.side),
        quantity=quantity,
        price=price,
        fee_rate=ZERO,
        leverage=position.leverage,
        fund_balance=insurance_fund_lock(),
    )
    order = closing_order_filled(position, quantity=quantity, price=price)
    settlement_book(
        settlement,
        order=order,
        wallet=wallet,
        position=position,
        price=price,
        liquidity=Fill.Liquidity.TAKER,
        journal=journal_open(Journal.Kind.DELEVERAGE),
    )
    if settlement.position_closed:
        reduce_only_orders_cancel(order)
    wallet.sweep_due = True
    wallet.save(update_fields=["sweep_due"])
    live_account_changed(wallet.user_id)
    Deleveraging.objects.create(
        user=position.user,
        position=position,
        quantity=quantity,
        price=price,
        mark_price=mark,
        realized_pnl=settlement.realized_pnl,
        score=rank.score.quantize(Decimal("1e-20")),
    )
    symbol = position.instrument.symbol
    Notification.objects.create(
        user=position.user,
        kind=Notification.Kind.DELEVERAGE,
        message=(
            f"Auto-deleveraging closed {quantity.normalize():f} of your {symbol} "
            f"{position.get_margin_mode_display()} {position.get_side_display().lower()} at "
            f"{price.normalize():f} (mark {mark.normalize():f}): a trader on the other side went "
            f"bankrupt beyond the insurance fund. Realized PnL {usdt(settlement.realized_pnl)} "
            "USDT, no fee."
        )[:300],
    )
    return quantity
