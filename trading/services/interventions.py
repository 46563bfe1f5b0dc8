"""What an operator does to a user's trading from the back office: close a position at market,
cancel an open order.

Each does exactly what the user's own button does (``position_close``, ``order_cancel``: the same
rules, the same refusals, the same ledger entries), in one durable transaction that also writes
the audit entry, so the log never shows a change that did not happen nor misses one that did. The
operator must hold the permission (the back office checks it too; a service never trusts its
caller for it) and give a reason, which the audit log keeps and a forced close tells the user.
"""

from django.db import transaction

from trading.errors import NoPosition, OrderNotFound
from trading.inputs import row_id_from_input
from trading.models import AuditEntry, Order, Position
from trading.money import usdt
from trading.services.audit_log import audit_record, operator_permitted, reason_checked
from trading.services.locks import wallet_lock
from trading.services.notifications import operator_notice
from trading.services.orders import (
    order_cancel_locked,
    order_id_checked,
    position_close_locked,
)


def position_force_close(*, operator, position_id, reason) -> Order:
    """Close the open position ``position_id`` at market for its user, as ``position_close``
    does (a reduce-only market order), and tell the user why. A refusal of the close rules (say,
    a cross close whose loss the wallet cannot pay while other cross positions stay open) is
    passed on with its message; nothing changes then."""
    operator_permitted(operator, "trading.force_close_position", what="force-close positions")
    reason = reason_checked(reason)
    position_id = row_id_from_input(
        position_id, not_found=NoPosition("Position not found.", field="position_id")
    )
    found = Position.objects.filter(pk=position_id).select_related("user").first()
    if found is None:
        raise NoPosition("Position not found.", field="position_id")
    user = found.user
    with transaction.atomic(durable=True):
        wallet = wallet_lock(user)
        # read again under the wallet lock: no fill or liquidation of this user runs meanwhile
        position = Position.objects.select_related("instrument").get(pk=position_id)
        if position.status != Position.Status.OPEN:
            raise NoPosition(
                f"Position {position_id} ({position.instrument.symbol} "
                f"{position.get_margin_mode_display()}) is already "
                f"{position.get_status_display().lower()}: only an open position can be closed.",
                field="position_id",
            )
        before = {
            "status": position.status,
            "side": position.side,
            "quantity": position.quantity,
            "entry_price": position.entry_price,
            "isolated_margin": position.isolated_margin,
        }
        order = position_close_locked(
            user=user,
            wallet=wallet,
            instrument=position.instrument,
            margin_mode=position.margin_mode,
        )
        position.refresh_from_db(fields=["status", "quantity", "realized_pnl", "isolated_margin"])
        fills = list(order.fills.all())
        after = {
            "status": position.status,
            "order_id": order.pk,
            "fill_price": order.average_fill_price,
            "realized_pnl": sum(fill.realized_pnl for fill in fills),
            "fee": sum(fill.fee for fill in fills),
        }
        audit_record(
            actor=operator,
            action=AuditEntry.Action.POSITION_FORCE_CLOSED,
            target=position,
            before=before,
            after=after,
            reason=reason,
            label=f"{user.get_username()}: {position.instrument.symbol} "
            f"{position.get_margin_mode_display()} {position.side.lower()}",
        )
        _user_told(user, position, before["quantity"], order, reason)
    return order


def _user_told(user, position: Position, quantity, order: Order, reason: str) -> None:
    instrument = position.instrument
    operator_notice(
        user=user,
        message=f"An operator closed your {instrument.symbol} "
        f"{position.get_margin_mode_display()} {position.side.lower()} of {usdt(quantity)} at "
        f"market, at {usdt(order.average_fill_price)}. Reason: {reason}",
    )


def order_cancel_by_operator(*, operator, order_id, reason) -> Order:
    """Cancel the open order ``order_id`` for its user, as ``order_cancel`` does (the margin it
    held is free again)."""
    operator_permitted(operator, "trading.cancel_any_order", what="cancel users' orders")
    reason = reason_checked(reason)
    order_id = order_id_checked(order_id)
    found = Order.objects.filter(pk=order_id).select_related("user").first()
    if found is None:
        raise OrderNotFound("Order not found.", field="order_id")
    user = found.user
    with transaction.atomic(durable=True):
        wallet_lock(user)
        before = Order.objects.values("status", "margin_held").get(pk=order_id)
        order = order_cancel_locked(user=user, order_id=order_id)
        audit_record(
            actor=operator,
            action=AuditEntry.Action.ORDER_CANCELED,
            target=order,
            before=before,
            after={"status": order.status, "margin_held": order.margin_held},
            reason=reason,
            label=f"{user.get_username()}: order {order.pk} {order.order_type} {order.side} "
            f"{order.instrument.symbol}",
        )
        operator_notice(
            user=user,
            message=f"An operator canceled your {order.instrument.symbol} "
            f"{order.get_order_type_display().lower()} {order.get_side_display().lower()} order "
            f"{order.pk}. Reason: {reason}",
        )
    return order
