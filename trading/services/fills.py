"""Executing an order: its settlement (trading/domain/settlement.py: what a fill does to the
position of its margin mode and to the money), booked: the position rows, the fills and every
transfer through ``ledger_post``. A liquidation books its settlement here too.

A fill that closes or reverses the position cancels the key's other reduce-only orders (as
exchanges do): they were written to reduce a position that is gone, and left open they would
close the next position of that symbol and mode. A position's own take-profit and stop-loss
(close-position orders) are among them: the database holds every close-position order
reduce-only (order_close_position_reduce_only_stop).
"""

import functools
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from marginsite.database_pool import prepared_cursor
from trading.domain.holdings import position_held
from trading.domain.settlement import Account, Leg, Settlement, fill_settlement
from trading.domain.sides import closing_side, order_sign, position_side
from trading.models import Fill, Journal, LedgerEntry, MarginMode, Order, Position, Wallet
from trading.money import ZERO, price_stored
from trading.services.bulk_writes import WritesStatement, row_new, row_update
from trading.services.ledger import Posting, ledger_post_all, ledger_post_kept
from trading.services.locks import insurance_fund_lock


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
    instrument = order.instrument
    terms = {
        "position": position_held(position) if position else None,
        "isolated": order.margin_mode == MarginMode.ISOLATED,
        "wallet_balance": wallet.balance,
        "side": order_sign(order.side),
        "quantity": quantity,
        "price": price,
        "fee_rate": (
            instrument.maker_fee_rate
            if liquidity == Fill.Liquidity.MAKER
            else instrument.taker_fee_rate
        ),
        "leverage": order.leverage,
    }
    settlement = fill_settlement(**terms)
    closed = settlement.position_closed  # the quantities', whatever the fund pays
    past_bankruptcy = settlement.net(Account.INSURANCE_FUND) < 0
    if past_bankruptcy:  # a close past bankruptcy: as far as it goes, what the fund can pay
        if closed:  # its orders locked before the fund (services/locks.py)
            reduce_only_orders_cancel(order)
        settlement = fill_settlement(**terms, fund_balance=insurance_fund_lock())
    if settlement.opening and settlement.fee_waived:
        raise ValueError(f"order {order.pk} opens a position but cannot pay its fees")
    _order_filled(order, quantity, price, rest_hold)
    statement = WritesStatement()  # everything the fill writes: one round trip
    execution = settlement_book(
        settlement,
        order=order,
        wallet=wallet,
        position=position,
        price=price,
        liquidity=liquidity,
        journal=_order_written(order, statement),
        statement=statement,
    )
    if closed and not past_bankruptcy:
        reduce_only_orders_cancel(order, statement)
    statement.run()
    return execution


def settlement_book(
    settlement: Settlement,
    *,
    order: Order,
    wallet: Wallet,
    position: Position | None,
    price: Decimal,
    liquidity: Fill.Liquidity,
    journal: Journal,
    closed_status: Position.Status = Position.Status.CLOSED,
    writes=None,
    statement: WritesStatement | None = None,
) -> Execution:
    """Write ``settlement`` of a fill of ``order`` against ``position``: the closed position's
    row (``closed_status`` once flat), the opened or grown one, a fill at ``price`` per part and
    each transfer, in the settlement's order, all in ``journal`` (the fill's own, or the
    liquidation's). The caller holds the locks. Given a ``statement``, the rows are added to
    it, for the caller to send with its own (an order's fill: the order's row); otherwise they
    are sent here. A sweep's liquidation passes its batch's ``writes``
    (trading/services/write_batches.py) instead, which keeps the rows to write them in bulk; it
    only closes, never opens."""
    if writes is not None and settlement.opening:
        raise ValueError("a batch keeps the rows of a close, never of an opening")
    sent_here = statement is None
    statement = WritesStatement() if sent_here else statement
    fills = []
    positions = {Leg.CLOSING: position, Leg.OPENING: position}
    unsaved = {}  # the position rows changed here: written with their margin, once each
    if settlement.closing:
        part = settlement.closing
        position.quantity -= part.quantity
        position.realized_pnl += part.realized_pnl
        unsaved[id(position)] = ["quantity", "realized_pnl"]
        if settlement.position_closed:
            position.status, position.closed_at = closed_status, timezone.now()
            unsaved[id(position)] += ["status", "closed_at"]
        fills.append(_fill(order, position, part, price, liquidity, journal))
    held = settlement.position
    if settlement.opening:
        if settlement.position_closed:  # reversed: closed before its key's next one opens
            # (at once: an open position is unique per key, checked row by row)
            row_update(position, [*unsaved.pop(id(position)), "updated_at"])
        if settlement.position_closed or position is None:
            positions[Leg.OPENING] = Position(
                user=order.user,
                instrument=order.instrument,
                margin_mode=order.margin_mode,
                side=position_side(held.side),
                quantity=held.quantity,
                entry_price=held.entry_price,
                leverage=held.leverage,
            )
            statement.insert(Position, [positions[Leg.OPENING]])
        else:
            position.quantity, position.entry_price = held.quantity, held.entry_price
            unsaved[id(position)] = ["quantity", "entry_price"]
        opened = positions[Leg.OPENING]
        fills.append(_fill(order, opened, settlement.opening, price, liquidity, journal))
    postings = [
        Posting(
            kind=LedgerEntry.Kind(transfer.kind),
            amount=transfer.amount,
            source=_holder(transfer.source, wallet, positions[transfer.leg]),
            destination=_holder(transfer.destination, wallet, positions[transfer.leg]),
            user=order.user,
            position=positions[transfer.leg],
            order=order,
            memo=transfer.memo,
        )
        for transfer in settlement.transfers
    ]
    if writes is not None:
        ledger_post_kept(postings, journal=journal, writes=writes, unsaved=unsaved)
        if unsaved:  # a position no transfer touched (a cross one)
            writes.update(position)
        writes.create(*fills)
        return Execution(fills, None if settlement.position_closed else position)
    ledger_post_all(postings, journal=journal, unsaved=unsaved, statement=statement)
    if unsaved:  # a position no transfer touched (a cross one)
        statement.update(position, [*unsaved.pop(id(position)), "updated_at"])
    statement.insert(Fill, fills)
    if sent_here:
        statement.run()
    opened = positions[Leg.OPENING] if settlement.opening else None
    return Execution(fills, opened or (None if settlement.position_closed else position))


def _holder(account: Account, wallet: Wallet, position: Position):
    """What ledger_post moves money from or to for a settlement's account: the wallet, the leg's
    position (its isolated margin), or a system account."""
    if account == Account.WALLET:
        return wallet
    if account == Account.POSITION:
        return position
    return account


def _fill(order, position, part, price, liquidity, journal) -> Fill:
    return row_new(
        Fill,
        journal=journal,
        order=order,
        position=position,
        price=price_stored(price),
        quantity=part.quantity,
        fee=part.fee,
        realized_pnl=part.realized_pnl,
        liquidity=liquidity,
    )


def _order_filled(order: Order, quantity: Decimal, price: Decimal, rest_hold) -> None:
    """The order's state after a fill of ``quantity`` at ``price`` (see ``order_execute``), in
    memory: ``_order_written`` writes it, before the fill that points at it."""
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


def _order_written(order: Order, statement: WritesStatement) -> Journal:
    """Write the order as it stands after its fill, in ``statement``: an order already in the
    database, its fill's fields; a new one (``order_place``'s, not saved yet), inserted whole,
    once. And the fill's journal, new, inserted before the rows that point at it."""
    if order.pk is None:
        statement.insert(Order, [order])
    else:
        fields = ["status", "filled_quantity", "average_fill_price", "margin_held", "updated_at"]
        statement.update(order, fields)
    journal = row_new(Journal, kind=Journal.Kind.FILL)
    statement.insert(Journal, [journal])
    return journal


def reduce_only_orders_cancel(order: Order, statement: WritesStatement | None = None) -> None:
    """The other open reduce-only orders of the order's (symbol, mode), once its position is
    closed. Locked after the wallet and the position (services/locks.py's order), by primary key,
    and written, in one statement: ``statement``, given one (the fill's, which may insert
    ``order`` itself), else its own."""
    sql = _reduce_only_orders_cancel_query()
    params = [timezone.now(), order.user_id, order.instrument_id, order.margin_mode, order.pk]
    if statement is not None:
        statement.add(sql, params)
        return
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)


@functools.cache
def _reduce_only_orders_cancel_query() -> str:
    """``reduce_only_orders_cancel``'s statement. Plain SQL, made once: it runs on every close,
    and building it through the ORM cost more than running it."""
    table = connection.ops.quote_name(Order._meta.db_table)
    new, canceled = Order.Status.NEW, Order.Status.CANCELED
    return (  # the order itself: one in the database, or none (it is inserted with this)
        f"UPDATE {table} SET status = '{canceled}', margin_held = 0, updated_at = %s "
        f"WHERE id IN (SELECT id FROM {table} WHERE user_id = %s AND instrument_id = %s "
        f"AND margin_mode = %s AND status = '{new}' AND reduce_only "
        "AND id IS DISTINCT FROM %s ORDER BY id FOR UPDATE)"
    )


def closing_order_filled(position: Position, *, quantity: Decimal, price: Decimal) -> Order:
    """The filled market order a forced close books on ``position`` (a liquidation step, an
    auto-deleveraging): reduce-only, on the closing side, at the position's leverage."""
    order = closing_order(position, quantity=quantity, price=price)
    order.save(force_insert=True)
    return order


def closing_order(position: Position, *, quantity: Decimal, price: Decimal) -> Order:
    """``closing_order_filled``'s order, not saved yet (a sweep's batch inserts it)."""
    return row_new(
        Order,
        user=position.user,
        instrument=position.instrument,
        side=closing_side(position.side),
        order_type="MARKET",
        margin_mode=position.margin_mode,
        quantity=quantity,
        reduce_only=True,
        leverage=position.leverage,
        status=Order.Status.FILLED,
        filled_quantity=quantity,
        average_fill_price=price,
    )
