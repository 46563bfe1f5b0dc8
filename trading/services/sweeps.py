"""``sweep_run``: what Celery beat runs after every price tick.

1. Triggered orders: the open trailing stops first follow the marks (one set-based UPDATE of
   their extremes); then a LIMIT whose price the mark crossed fills (what is left of it) at its
   price (maker fee); a STOP_MARKET, TAKE_PROFIT_MARKET or TRAILING_STOP_MARKET whose trigger
   the mark crossed executes as a market order, walking the order book (taker fee; what the
   book cannot fill within the maximum slippage expires). A close-position order closes the
   whole position as it is then.
   The order's checks run again at that moment; one that fails them expires, with a notification.
2. Isolated liquidations, then 3. cross liquidations (trading/services/liquidations.py).

Candidates come from set-based SQL (trading/selectors/risk.py): accounts with a crossed order, a
mark at a position's watch price, or a change since their last check. Each is then handled in
its own transaction: its wallet is locked with SKIP LOCKED (an account busy with its owner's own
order is taken on the next tick, and parallel sweeps share the work), everything is re-checked
exactly with the engine, and only then changed; what is left open gets new watch prices
(trading/services/watch.py). A crash leaves no half-done account; running the
same sweep twice changes nothing the second time. At most one live sweep of a shard runs at once:
each holds the shard's PostgreSQL advisory lock on its own connection for its whole run, and a
second one, started while the first still runs, returns at once. The lock dies with its worker
(PostgreSQL releases it when the connection drops), so a sweep killed mid-run blocks nothing: the
next tick takes the lock, marks the dead run's RUNNING row ABANDONED and sweeps what it left. An
account that fails is logged and retried on the next tick; the others are still swept.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from django.db import connection, transaction
from django.utils import timezone

from marginsite.errors import ApplicationError
from trading.domain.orders import OrderRequest, order_plan, order_refusal
from trading.domain.triggers import trailing_moves_sql, trigger_crossed
from trading.models import (
    Fill,
    MarginMode,
    Notification,
    Order,
    OrderType,
    Position,
    SweepRun,
    Wallet,
)
from trading.selectors import holdings_load
from trading.selectors.holdings import mark_prices
from trading.selectors.risk import accounts_due, orders_triggered
from trading.services.fills import order_execute
from trading.services.liquidations import cross_liquidate, isolated_liquidate
from trading.services.live import live_account_changed
from trading.services.locks import open_orders_lock, open_positions_lock
from trading.services.watch import account_watch_set

logger = logging.getLogger(__name__)

# The first key of the sweep's advisory locks: PostgreSQL's advisory keys are shared by the whole
# database, and this one is the sweep's alone ("SWEE"). The second key is the shard.
SWEEP_LOCK_NAMESPACE = 0x53574545


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did; ``ran`` is False when another sweep was already running."""

    ran: bool
    accounts: int = 0
    positions_checked: int = 0
    orders_filled: int = 0
    orders_expired: int = 0
    isolated_liquidations: int = 0
    cross_liquidations: int = 0
    skipped_busy: int = 0
    errors: int = 0


def sweep_run(*, shard: int = 0, shards: int = 1) -> SweepReport:
    """Sweep the accounts of one shard (all of them by default)."""
    with _shard_lock(shard, shards) as held:
        if not held:
            return SweepReport(ran=False)
        run = _sweep_start(shard, shards)
        report = SweepReport(ran=True)
        try:
            trailing_extremes_update(shard=shard, shards=shards)
            users = sorted(
                {user for _, user in orders_triggered(shard=shard, shards=shards)}
                | set(accounts_due(shard=shard, shards=shards))
            )
            report = replace(report, accounts=len(users))
            for user_id in users:
                try:
                    report = _add(report, account_sweep(user_id=user_id))
                except Exception:  # one broken account must not stop the others' liquidations
                    logger.exception(
                        "sweep: account of user %s failed; it is retried next tick", user_id
                    )
                    report = replace(report, errors=report.errors + 1)
        finally:
            _sweep_finish(run, report)
        return report


# The open trailing stops of a shard whose extreme the mark moves (trading/domain/triggers.py),
# locked in id order as every transaction locks orders, but without their wallets (the one
# exception to services/locks.py's order, written there), then updated.
TRAILING_EXTREMES_UPDATE = f"""
    WITH moved AS (
        SELECT o.id, mark.price FROM trading_order o
        JOIN trading_markprice mark ON mark.instrument_id = o.instrument_id
        WHERE o.status = 'NEW' AND o.order_type = '{OrderType.TRAILING_STOP_MARKET}'
            AND o.user_id %% %(shards)s = %(shard)s
            AND o.trailing_extreme IS DISTINCT FROM mark.price
            AND {trailing_moves_sql(order="o", mark="mark")}
        ORDER BY o.id
        FOR UPDATE OF o
    )
    UPDATE trading_order SET trailing_extreme = moved.price
    FROM moved WHERE trading_order.id = moved.id
"""


def trailing_extremes_update(*, shard: int = 0, shards: int = 1) -> int:
    """Bring every open trailing stop of the shard to the current marks, in one statement,
    before the triggers are looked for: a stop activates, or follows a new best mark. Returns
    how many moved."""
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute(TRAILING_EXTREMES_UPDATE, {"shard": shard, "shards": shards})
        return cursor.rowcount


def sweep_lock_keys(shard: int, shards: int) -> tuple[int, int]:
    """The two int4 keys of the shard's advisory lock: ``pg_locks`` shows a live sweep as an
    advisory lock with these as ``classid`` and ``objid``."""
    return SWEEP_LOCK_NAMESPACE, shards << 16 | shard  # shard < shards < 2**15: one int4


@contextmanager
def _shard_lock(shard: int, shards: int) -> Iterator[bool]:
    """Take the shard's session-level advisory lock without waiting; yield whether it is held.

    It lives on this worker's own connection, not in a row: the kernel closes the connection of
    a worker that dies (kill -9, out of memory), and PostgreSQL then releases the lock at once,
    so liveness never waits on a timeout. Session-level, so the per-account transactions do not
    release it."""
    keys = sweep_lock_keys(shard, shards)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s::integer, %s::integer)", keys)
        (held,) = cursor.fetchone()
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s::integer, %s::integer)", keys)


def _add(report: SweepReport, account: SweepReport) -> SweepReport:
    counted = (
        "positions_checked",
        "orders_filled",
        "orders_expired",
        "isolated_liquidations",
        "cross_liquidations",
        "skipped_busy",
    )
    return replace(
        report, **{name: getattr(report, name) + getattr(account, name) for name in counted}
    )


def _sweep_start(shard: int, shards: int) -> SweepRun:
    """The run's row, under the shard's lock: a RUNNING row of the shard is then a dead run's."""
    with transaction.atomic(durable=True):
        SweepRun.objects.filter(shard=shard, shards=shards, status=SweepRun.Status.RUNNING).update(
            status=SweepRun.Status.ABANDONED
        )
        return SweepRun.objects.create(shard=shard, shards=shards)


def _sweep_finish(run: SweepRun, report: SweepReport) -> None:
    run.status = SweepRun.Status.DONE
    run.finished_at = timezone.now()
    run.positions_checked = report.positions_checked
    run.orders_triggered = report.orders_filled + report.orders_expired
    run.liquidations = report.isolated_liquidations + report.cross_liquidations
    run.errors = report.errors
    run.save(
        update_fields=[
            "status", "finished_at", "positions_checked", "orders_triggered", "liquidations",
            "errors",
        ]
    )  # fmt: skip


def account_sweep(*, user_id: int) -> SweepReport:
    """Trigger, then liquidate, one account in one transaction (see the module)."""
    with transaction.atomic(durable=True):
        wallet = (
            Wallet.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("user")
            .filter(user_id=user_id)
            .first()
        )
        if wallet is None:
            return SweepReport(ran=True, skipped_busy=1)
        user = wallet.user
        filled, expired = _orders_trigger(user, wallet)
        positions = open_positions_lock(user)
        orders = open_orders_lock(user)
        holdings = holdings_load(user=user, wallet=wallet, positions=positions)
        isolated = 0
        for position in [p for p in positions if p.margin_mode == MarginMode.ISOLATED]:
            figures = holdings.position_figures((position.instrument_id, MarginMode.ISOLATED))
            if figures.liquidatable and isolated_liquidate(
                wallet=wallet, position=position, holdings=holdings, orders=orders
            ):
                isolated += 1
        cross = 0
        if holdings.figures().cross_liquidatable and cross_liquidate(
            wallet=wallet, positions=positions, holdings=holdings, orders=orders
        ):
            cross = 1
        _watch_set(wallet, positions, holdings, liquidated=bool(isolated or cross))
        if filled or expired or isolated or cross:  # the wallet was locked without wallet_lock
            live_account_changed(user_id)
        return SweepReport(
            ran=True,
            positions_checked=len(positions),
            orders_filled=filled,
            orders_expired=expired,
            isolated_liquidations=isolated,
            cross_liquidations=cross,
        )


def _watch_set(wallet: Wallet, positions: list[Position], holdings, *, liquidated: bool) -> None:
    """Watch prices for what is left open. After a liquidation the account is valued again: its
    steps changed the wallet, and the sizes and margins of the positions they reduced."""
    open_positions = [p for p in positions if p.status == Position.Status.OPEN]
    if liquidated:
        holdings = holdings_load(user=wallet.user, wallet=wallet, positions=open_positions)
    account_watch_set(wallet=wallet, positions=open_positions, holdings=holdings)


def _orders_trigger(user, wallet) -> tuple[int, int]:
    filled = expired = 0
    orders = open_orders_lock(user)
    marks = mark_prices(order.instrument_id for order in orders)
    for order in orders:
        mark = marks.get(order.instrument_id)
        if mark is None or not trigger_crossed(
            order_type=order.order_type, side=order.side, price=order.price,
            stop_price=order.stop_price, mark=mark, trailing_extreme=order.trailing_extreme,
            callback_rate=order.callback_rate,
        ):  # fmt: skip
            continue
        order.refresh_from_db(fields=["status"])
        if order.status != Order.Status.NEW:
            continue  # cancelled by an earlier fill of this loop (a closed position's reduce-only)
        if _order_trigger(user, wallet, order, mark):
            filled += 1
        else:
            expired += 1
    return filled, expired


def _order_trigger(user, wallet, order: Order, mark) -> bool:
    """Execute a triggered order, or expire it if its checks fail now. True when it filled."""
    positions = open_positions_lock(user)
    position = next(
        (p for p in positions if (p.instrument_id, p.margin_mode) == (
            order.instrument_id, order.margin_mode)),
        None,
    )  # fmt: skip
    limit = order.order_type == OrderType.LIMIT
    holdings = holdings_load(user=user, wallet=wallet, positions=positions)
    # the order's own held margin is what it is about to use
    holdings = replace(holdings, open_order_margin=holdings.open_order_margin - order.margin_held)
    # a triggered stop is a market order now; a partly filled limit fills what it has left; a
    # close-position order closes the whole position as it is now
    request = OrderRequest(
        order.instrument, order.side, order.order_type if limit else OrderType.MARKET,
        order.quantity - order.filled_quantity, order.price, None, order.margin_mode,
        order.reduce_only, order.client_order_id, close_position=order.close_position,
    )  # fmt: skip
    try:
        plan = order_plan(
            request,
            leverage=order.leverage,
            mark=mark,
            position=position,
            wallet_balance=holdings.wallet_balance,
            execution=(order.price, True) if limit else None,
        )
        refusal = order_refusal(plan, holdings)
    except ApplicationError as error:
        refusal = error
    if refusal is not None:
        _order_expire(order, refusal.message)
        return False
    if plan.order_quantity != request.quantity:  # cut (or, close-position, set) to the position
        order.quantity = order.filled_quantity + plan.order_quantity
        order.save(update_fields=["quantity", "updated_at"])
    if not plan.executes_now:
        _order_expire(order, "the order book holds nothing within the maximum slippage.")
        return False
    order_execute(
        order=order,
        price=plan.price,
        liquidity=Fill.Liquidity.MAKER if limit else Fill.Liquidity.TAKER,
        wallet=wallet,
        position=position,
        quantity=plan.quantity,
    )
    Notification.objects.create(
        user=user,
        kind=Notification.Kind.ORDER_FILLED,
        message=(
            f"Your {order.instrument.symbol} {order.get_order_type_display().lower()} "
            f"{order.side.lower()} of {plan.quantity.normalize():f} filled at "
            f"{plan.price.normalize():f}."
        ),
    )
    return True


def _order_expire(order: Order, reason: str) -> None:
    order.status = Order.Status.EXPIRED
    order.margin_held = 0
    order.save(update_fields=["status", "margin_held", "updated_at"])
    Notification.objects.create(
        user=order.user,
        kind=Notification.Kind.ORDER_EXPIRED,
        message=f"Your {order.instrument.symbol} order {order.pk} expired when it triggered: "
        f"{reason}"[:300],
    )
