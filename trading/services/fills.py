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
from trading.services.bulk_writes import WritesStatement, row_update, rows_insert
from trading.services.ledger import Posting, journal_open, ledger_post_all, ledger_post_kept
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
    if settlement.net(Account.INSURANCE_FUND) < 0:  # a close past bankruptcy: as far as it goes
        settlement = fill_settlement(**terms, fund_balance=insurance_fund_lock())
    if settlement.opening and settlement.fee_waived:
        raise ValueError(f"order {order.pk} opens a position but cannot pay its fees")
    _order_filled(order, quantity, price, rest_hold)
    execution = settlement_book(
        settlement,
        order=order,
        wallet=wallet,
        position=position,
        price=price,
        liquidity=liquidity,
        journal=_order_written(order),
    )
    if settlement.position_closed:
        reduce_only_orders_cancel(order)
    return execution


def settlement_book(
    settlement: Settlement,
    *,
    order: Order,
    wallet: Wallet,
    position: Position | None,
    price: Decimal,
    liquidity: Fill.Liquidity,
    closed_status: Position.Status = Position.Status.CLOSED,
    journal: Journal | None = None,
    writes=None,
) -> Execution:
    """Write ``settlement`` of a fill of ``order`` against ``position``: the closed position's
    row (``closed_status`` once flat), the opened or grown one, a fill at ``price`` per part and
    each transfer, in the settlement's order, all in one journal (the fill's own, or the
    liquidation's). The caller holds the locks. A sweep's liquidation passes its batch's
    ``writes`` (trading/services/write_batches.py), which keeps the rows to write them in bulk;
    it only closes, never opens."""
    if writes is not None and settlement.opening:
        raise ValueError("a batch keeps the rows of a close, never of an opening")
    journal = journal or journal_open(Journal.Kind.FILL)
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
            rows_insert(Position, [positions[Leg.OPENING]])
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
    statement = WritesStatement()  # the entries, the fills and the rows changed: one round trip
    ledger_post_all(postings, journal=journal, unsaved=unsaved, statement=statement)
    if unsaved:  # a position no transfer touched (a cross one)
        statement.update(position, [*unsaved.pop(id(position)), "updated_at"])
    statement.insert(Fill, fills)
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
    return Fill(
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


def _order_written(order: Order) -> Journal | None:
    """Write the order as it stands after its fill: an order already in the database, its
    fill's fields; a new one (``order_place``'s, not saved yet), inserted whole with the journal
    of its fill in one statement (each is written once, and the next rows point at both), which
    is returned."""
    if order.pk is not None:
        fields = ["status", "filled_quantity", "average_fill_price", "margin_held", "updated_at"]
        order.save(update_fields=fields)
        return None
    journal = Journal(kind=Journal.Kind.FILL)
    quote = connection.ops.quote_name
    fields = [field for field in Order._meta.concrete_fields if not field.primary_key]
    order._prepare_related_fields_for_save(operation_name="save")
    values = [
        field.get_db_prep_save(field.pre_save(order, add=True), connection) for field in fields
    ]
    with prepared_cursor() as cursor:
        cursor.execute(
            f"WITH journal AS (INSERT INTO {quote(Journal._meta.db_table)} (kind, created_at) "
            "VALUES (%s, %s) RETURNING id) "
            f"INSERT INTO {quote(Order._meta.db_table)} "
            f"({', '.join(quote(field.column) for field in fields)}) "
            f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING id, (SELECT id FROM journal)",
            [journal.kind, journal.created_at, *values],
        )
        order.pk, journal.pk = cursor.fetchone()
    for row in (order, journal):
        row._state.adding, row._state.db = False, connection.alias
    return journal


def reduce_only_orders_cancel(order: Order) -> None:
    """The other open reduce-only orders of the order's (symbol, mode), once its position is
    closed. Locked after the wallet and the position (services/locks.py's order), by primary key,
    and written, in one statement."""
    with prepared_cursor() as cursor:
        cursor.execute(
            _reduce_only_orders_cancel_query(),
            {
                "user": order.user_id,
                "instrument": order.instrument_id,
                "margin_mode": order.margin_mode,
                "order": order.pk,
                "now": timezone.now(),
            },
        )


@functools.cache
def _reduce_only_orders_cancel_query() -> str:
    """``reduce_only_orders_cancel``'s statement. Plain SQL, made once: it runs on every close,
    and building it through the ORM cost more than running it."""
    table = connection.ops.quote_name(Order._meta.db_table)
    new, canceled = Order.Status.NEW, Order.Status.CANCELED
    return (
        f"UPDATE {table} SET status = '{canceled}', margin_held = 0, updated_at = %(now)s "
        f"WHERE id IN (SELECT id FROM {table} WHERE user_id = %(user)s "
        "AND instrument_id = %(instrument)s AND margin_mode = %(margin_mode)s "
        f"AND status = '{new}' AND reduce_only AND id <> %(order)s ORDER BY id FOR UPDATE)"
    )


def closing_order_filled(position: Position, *, quantity: Decimal, price: Decimal) -> Order:
    """The filled market order a forced close books on ``position`` (a liquidation step, an
    auto-deleveraging): reduce-only, on the closing side, at the position's leverage."""
    order = closing_order(position, quantity=quantity, price=price)
    order.save(force_insert=True)
    return order


def closing_order(position: Position, *, quantity: Decimal, price: Decimal) -> Order:
    """``closing_order_filled``'s order, not saved yet (a sweep's batch inserts it)."""
    return Order(
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
