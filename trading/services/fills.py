"""Executing an order: what a fill does to the position of its margin mode, and to the money.

Money rules (every movement through ``ledger_post``):
- Opening or increasing an isolated position moves its initial margin from the wallet into the
  position's isolated margin; a cross position holds its margin implicitly.
- Reducing settles the realized PnL of the closed part. Cross: with the wallet. Isolated: with the
  position's own margin, whose share for the closed part (pro rata) then returns to the wallet;
  so an isolated loss never reaches the wallet.
- A loss beyond what backs the position (the wallet in cross, the position's whole margin in
  isolated: a position past its bankruptcy price) is covered by the insurance fund; the user
  never owes more, no wallet goes below 0.
- Fees are paid from the wallet last, after the closed part's money is back in it; the check
  before the order made sure the wallet can pay them.

A fill that closes or reverses the position cancels the key's other reduce-only orders (as
exchanges do): they were written to reduce a position that is gone, and left open they would
close the next position of that symbol and mode.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from trading.engine import position_after_fill
from trading.models import Fill, LedgerAccount, LedgerEntry, Order, Position, Wallet
from trading.money import ZERO, money_owed, money_received, price_stored
from trading.selectors.accounts import engine_side
from trading.services.ledger import ledger_post

HOUSE = LedgerAccount.Kind.HOUSE
INSURANCE_FUND = LedgerAccount.Kind.INSURANCE_FUND
FEES = LedgerAccount.Kind.FEES


@dataclass(frozen=True)
class Execution:
    """An order executed: the fills and the open position of its key afterwards."""

    fills: list[Fill]
    position: Position | None


def order_execute(
    *,
    order: Order,
    price: Decimal,
    liquidity: Fill.Liquidity,
    wallet: Wallet,
    position: Position | None,
    quantity: Decimal | None = None,
    rest_hold: Decimal | None = None,
) -> Execution:
    """Fill ``quantity`` of ``order`` (None: all it has left) at ``price`` against ``position``
    (the open position of the order's (symbol, mode), or None), in one fill at that price (a
    taker's is the average of the book levels it took). Filled whole, the order is FILLED. In
    part, it stays open (NEW, partly filled) holding ``rest_hold`` for what is left, when it has
    a rest (a GTC limit's); otherwise (an IOC, a market order the book could not fill whole) it
    is EXPIRED with what it filled. Its average fill price covers all its fills. The caller
    holds the locks on the wallet, the position and the order, inside its transaction."""
    if quantity is None:
        quantity = order.quantity - order.filled_quantity
    fill_side = 1 if order.side == "BUY" else -1
    result = position_after_fill(
        position_side=engine_side(position.side) if position else None,
        position_quantity=position.quantity if position else ZERO,
        entry_price=position.entry_price if position else None,
        fill_side=fill_side,
        fill_quantity=quantity,
        fill_price=price,
    )
    rate = (
        order.instrument.maker_fee_rate
        if liquidity == Fill.Liquidity.MAKER
        else order.instrument.taker_fee_rate
    )
    fills = []
    if result.closed_quantity:
        fills.append(
            _reduce(order, position, wallet, result.closed_quantity, price, rate, liquidity)
        )
        if position.status != Position.Status.OPEN:
            position = None
            _reduce_only_orders_cancel(order)
    if result.opened_quantity:
        position, fill = _open_or_increase(order, position, wallet, result, price, rate, liquidity)
        fills.append(fill)
    _fees_charge(order, wallet, fills, opened=bool(result.opened_quantity))
    _order_filled(order, quantity, price, rest_hold)
    return Execution(fills, position)


def _order_filled(order: Order, quantity: Decimal, price: Decimal, rest_hold) -> None:
    """The order's state after a fill of ``quantity`` at ``price`` (see ``order_execute``)."""
    before = order.filled_quantity
    order.filled_quantity = before + quantity
    order.average_fill_price = (
        price_stored((before * order.average_fill_price + quantity * price) / order.filled_quantity)
        if before
        else price
    )
    if order.filled_quantity == order.quantity:
        order.status, order.margin_held = Order.Status.FILLED, ZERO
    elif rest_hold is not None:
        order.margin_held = rest_hold
    else:
        order.status, order.margin_held = Order.Status.EXPIRED, ZERO
    order.save(
        update_fields=[
            "status",
            "filled_quantity",
            "average_fill_price",
            "margin_held",
            "updated_at",
        ]
    )


def _reduce_only_orders_cancel(order: Order) -> None:
    """The other open reduce-only orders of the order's (symbol, mode), once its position is
    closed. Locked after the wallet and the position (services/locks.py's order)."""
    stale = Order.objects.select_for_update(of=("self",)).filter(
        user=order.user_id,
        instrument=order.instrument_id,
        margin_mode=order.margin_mode,
        status=Order.Status.NEW,
        reduce_only=True,
    )
    Order.objects.filter(pk__in=[o.pk for o in stale.exclude(pk=order.pk).order_by("pk")]).update(
        status=Order.Status.CANCELED, margin_held=ZERO, updated_at=timezone.now()
    )


def _reduce(order, position, wallet, quantity, price, rate, liquidity) -> Fill:
    """Close ``quantity`` of ``position`` at ``price`` and settle its PnL."""
    side = engine_side(position.side)
    pnl = money_received(side * quantity * (price - position.entry_price))
    entry = {"user": order.user, "position": position, "order": order}
    if position.margin_mode == "ISOLATED":
        insured = _isolated_settle(position, wallet, quantity, pnl, entry)
    else:
        insured = _cross_settle(wallet, pnl, entry)
    # the user's realized PnL is what left or reached their money, not what the insurance paid
    pnl += insured
    position.quantity -= quantity
    position.realized_pnl += pnl
    fields = ["quantity", "realized_pnl", "updated_at"]
    if position.quantity == 0:
        position.status = Position.Status.CLOSED
        position.closed_at = timezone.now()
        fields += ["status", "closed_at"]
    position.save(update_fields=fields)
    return Fill.objects.create(
        order=order,
        position=position,
        price=price,
        quantity=quantity,
        fee=money_owed(quantity * price * rate),
        realized_pnl=pnl,
        liquidity=liquidity,
    )


def _cross_settle(wallet, pnl, entry) -> Decimal:
    """Settle with the wallet; return what the insurance fund covered."""
    kind = LedgerEntry.Kind.REALIZED_PNL
    if pnl >= 0:
        ledger_post(kind=kind, amount=pnl, source=HOUSE, destination=wallet, **entry)
        return ZERO
    loss = -pnl
    paid = min(loss, wallet.balance)
    ledger_post(kind=kind, amount=paid, source=wallet, destination=HOUSE, **entry)
    ledger_post(
        kind=LedgerEntry.Kind.INSURANCE,
        amount=loss - paid,
        source=INSURANCE_FUND,
        destination=HOUSE,
        memo="loss beyond the cross wallet",
        **entry,
    )
    return loss - paid


def _isolated_settle(position, wallet, quantity, pnl, entry) -> Decimal:
    """Settle with the position's margin; return what the insurance fund covered."""
    margin = position.isolated_margin
    closing_all = quantity == position.quantity
    share = margin if closing_all else money_received(margin * quantity / position.quantity)
    release = {"kind": LedgerEntry.Kind.ISOLATED_MARGIN, "memo": "margin released", **entry}
    kind = LedgerEntry.Kind.REALIZED_PNL
    if pnl >= 0:
        ledger_post(amount=pnl, source=HOUSE, destination=wallet, kind=kind, **entry)
        ledger_post(amount=share, source=position, destination=wallet, **release)
        return ZERO
    loss = -pnl
    from_share = min(loss, share)
    ledger_post(amount=from_share, source=position, destination=HOUSE, kind=kind, **entry)
    ledger_post(amount=share - from_share, source=position, destination=wallet, **release)
    beyond_share = loss - from_share
    from_rest = min(beyond_share, position.isolated_margin)
    ledger_post(amount=from_rest, source=position, destination=HOUSE, kind=kind, **entry)
    ledger_post(
        kind=LedgerEntry.Kind.INSURANCE,
        amount=beyond_share - from_rest,
        source=INSURANCE_FUND,
        destination=HOUSE,
        memo="loss beyond the isolated margin",
        **entry,
    )
    return beyond_share - from_rest


def _open_or_increase(order, position, wallet, result, price, rate, liquidity):
    quantity = result.opened_quantity
    if position is None:
        position = Position.objects.create(
            user=order.user,
            instrument=order.instrument,
            margin_mode=order.margin_mode,
            side="LONG" if result.side == 1 else "SHORT",
            quantity=quantity,
            entry_price=price,
            leverage=order.leverage,
        )
    else:
        position.quantity = result.quantity
        position.entry_price = price_stored(result.entry_price)
        position.save(update_fields=["quantity", "entry_price", "updated_at"])
    if position.margin_mode == "ISOLATED":
        ledger_post(
            kind=LedgerEntry.Kind.ISOLATED_MARGIN,
            amount=money_owed(quantity * price / position.leverage),
            source=wallet,
            destination=position,
            user=order.user,
            position=position,
            order=order,
            memo="initial margin",
        )
    fill = Fill.objects.create(
        order=order,
        position=position,
        price=price,
        quantity=quantity,
        fee=money_owed(quantity * price * rate),
        liquidity=liquidity,
    )
    return position, fill


def _fees_charge(order, wallet, fills, *, opened: bool) -> None:
    """The fills' fees, from the wallet. An order that opens anything was checked to pay them in
    cash. Only a pure close of an account already past its bankruptcy can find the wallet short:
    what it cannot pay is waived, never owed."""
    for fill in fills:
        charged = min(fill.fee, wallet.balance)
        if charged != fill.fee and opened:
            raise ValueError(f"order {order.pk} opens a position but cannot pay its fees")
        if charged != fill.fee:
            fill.fee = charged
            fill.save(update_fields=["fee"])
        ledger_post(
            kind=LedgerEntry.Kind.FEE,
            amount=charged,
            source=wallet,
            destination=FEES,
            user=order.user,
            position=fill.position,
            order=order,
        )
