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
mark at a position's watch price, or a change since their last check. They are swept in batches,
one transaction each (``accounts_sweep``), their accounts locked and read a chunk at a time and
their rows written a table at a time (trading/services/write_batches.py): a flash crash pays a
few statements and one commit per batch, not twenty statements per liquidation. Each account is
all or nothing: one that fails is taken out of its batch alone (what the batch kept of it is
dropped) and the others go through; if the database refuses the batch's rows, the batch is swept
again one account at a time, each in its own savepoint, writing as it goes. An account that needs
the database as it stands (a triggered order, auto-deleveraging) is swept that way too, once the
batch so far is written. A batch ends after SWEEP_BATCH_SIZE accounts or SWEEP_BATCH_SECONDS,
whichever comes first, so the rows it locks (and the insurance fund's, once it liquidates) are
held for a bounded time. Each account's wallet is locked with SKIP LOCKED (an account busy with
its owner's own order is taken on the next tick, and parallel sweeps share the work), everything
is re-checked exactly with the engine, and only then changed; what is left open gets new watch
prices (trading/services/watch.py). The trader's open pages hear of it when the batch commits.
A crash leaves no half-done account; running the
same sweep twice changes nothing the second time. At most one live sweep of a shard runs at once:
each holds the shard's PostgreSQL advisory lock on its own connection for its whole run, and a
second one, started while the first still runs, returns at once. The lock dies with its worker
(PostgreSQL releases it when the connection drops), so a sweep killed mid-run blocks nothing: the
next tick takes the lock, marks the dead run's RUNNING row ABANDONED and sweeps what it left. An
account that fails is logged and retried on the next tick; the others are still swept.
"""

import gc
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace

from django.db import connection, transaction
from django.utils import timezone

from marginsite.errors import ApplicationError
from trading.domain.holdings import Holdings, holdings_of
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
from trading.money import ZERO
from trading.selectors import holdings_load
from trading.selectors.accounts import other_mode_leverages, other_mode_leverages_many
from trading.selectors.holdings import mark_prices
from trading.selectors.instruments import instruments_version_seen
from trading.selectors.risk import accounts_due, orders_triggered
from trading.services.fills import order_execute
from trading.services.ledger import ledger_accounts_attach, ledger_system_accounts_keep
from trading.services.liquidations import cross_liquidate, isolated_liquidate
from trading.services.locks import (
    open_orders_lock,
    open_positions_lock,
    sweep_accounts_lock,
    with_instruments_version,
)
from trading.services.watch import account_watch_set
from trading.services.write_batches import ImmediateNeeded, WriteBatch

logger = logging.getLogger(__name__)

# The first key of the sweep's advisory locks: PostgreSQL's advisory keys are shared by the whole
# database, and this one is the sweep's alone ("SWEE"). The second key is the shard.
SWEEP_LOCK_NAMESPACE = 0x53574545

# A batch's bounds (see the module): enough accounts to spread a commit over many, few enough
# seconds that a trader's own order never waits long on a row the batch holds.
SWEEP_BATCH_SIZE = 200
SWEEP_BATCH_SECONDS = 0.5
# A batch locks and reads its accounts this many at a time (what a batch cut short by its time
# had locked and not swept is left for the next one).
SWEEP_LOCK_CHUNK = 25


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
            while users:
                try:
                    batch, swept = accounts_sweep(user_ids=users[:SWEEP_BATCH_SIZE])
                except Exception:  # the batch's writes failed as a whole: its accounts one by one
                    logger.exception("sweep: a batch failed; its accounts are swept one by one")
                    batch, swept = accounts_sweep(
                        user_ids=users[:SWEEP_BATCH_SIZE], one_by_one=True
                    )
                report = _add(report, batch)
                users = users[swept:]
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
        "errors",
    )
    return replace(
        report, **{name: getattr(report, name) + getattr(account, name) for name in counted}
    )


def _sweep_start(shard: int, shards: int) -> SweepRun:
    """The run's row, under the shard's lock: a RUNNING row of the shard is then a dead run's.
    The system ledger accounts are kept from its commit, for the batches' postings."""
    with transaction.atomic(durable=True):
        SweepRun.objects.filter(shard=shard, shards=shards, status=SweepRun.Status.RUNNING).update(
            status=SweepRun.Status.ABANDONED
        )
        ledger_system_accounts_keep()
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


def accounts_sweep(*, user_ids: list[int], one_by_one: bool = False) -> tuple[SweepReport, int]:
    """Sweep the accounts of ``user_ids`` in order, in one transaction, each in its own
    savepoint, until the batch's bounds (see the module); their rows are written together at the
    end (trading/services/write_batches.py), or, ``one_by_one``, each account's at its own end.
    Returns the batch's report and how many of ``user_ids`` it swept (the rest are for the next
    batch)."""
    report = SweepReport(ran=True)
    started = time.monotonic()
    swept = 0
    with _collector_paused(), transaction.atomic(durable=True):
        writes = WriteBatch(immediate=one_by_one)
        accounts, marks = {}, None
        for user_id in user_ids:
            if swept and (writes.ended or time.monotonic() - started > SWEEP_BATCH_SECONDS):
                break
            if not one_by_one and swept % SWEEP_LOCK_CHUNK == 0:
                accounts, marks = _accounts_read(user_ids[swept : swept + SWEEP_LOCK_CHUNK])
            swept += 1
            if one_by_one or user_id in accounts:
                account = _account_batched(user_id, accounts.get(user_id), marks, writes)
                report = _add(report, account)
            else:
                report = replace(report, skipped_busy=report.skipped_busy + 1)
        writes.flush()
    return report, swept


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused for a batch (at most SWEEP_BATCH_SECONDS): a batch makes
    tens of thousands of objects (its rows, figures and receipts) that live to its end, and the
    collector walked them again and again for nothing, a sixth of a flash crash's CPU. What
    cycles the batch leaves are collected once it has ended."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _accounts_read(user_ids: list[int]) -> tuple[dict, dict]:
    """The next accounts of a batch, locked and read at once (services/locks.py), with their
    ledger accounts, what else a liquidation reads (``_liquidation_reads``) read for all of
    them, and the marks."""
    locked = sweep_accounts_lock(user_ids)
    positions = [position for _, own, _ in locked.values() for position in own]
    leverages = other_mode_leverages_many(positions)
    accounts = {
        user_id: (wallet, own, orders, leverages)
        for user_id, (wallet, own, orders) in locked.items()
    }
    orders = [order for _, _, own in locked.values() for order in own]
    return accounts, mark_prices({row.instrument_id for row in positions + orders})


def _account_batched(user_id: int, account, marks, writes: WriteBatch) -> SweepReport:
    """One account of a batch: its rows kept with the batch's; or, when it needs the database
    as it stands (``ImmediateNeeded``), swept on its own once the batch is written. A failing
    account is rolled back alone (its savepoint, and what the batch kept of it)."""
    if not writes.immediate:
        mark = writes.mark()
        try:
            return account_sweep(user_id=user_id, writes=writes, account=account, marks=marks)
        except ImmediateNeeded:
            writes.rollback(mark)
            writes.flush()
        except Exception:  # one broken account must not stop the others' liquidations
            writes.rollback(mark)
            return _account_failed(user_id)
    try:
        return account_sweep(user_id=user_id)
    except Exception:
        return _account_failed(user_id)
    finally:
        writes.written_behind()


def _account_failed(user_id: int) -> SweepReport:
    logger.exception("sweep: account of user %s failed; retried next tick", user_id)
    return SweepReport(ran=True, errors=1)


def account_sweep(
    *, user_id: int, writes: WriteBatch | None = None, account=None, marks=None
) -> SweepReport:
    """Trigger, then liquidate, one account, all or nothing (see the module), in a savepoint of
    the caller's batch, its rows kept in the batch's ``writes``, with the ``account``'s rows the
    batch locked and read (wallet, open positions, open orders, ``_liquidation_reads``'s
    leverages) and the ``marks`` it read; or,
    without them, on its own: in its own transaction (or savepoint), its rows locked, read and,
    at its end, written here."""
    alone = writes is None
    writes = WriteBatch(immediate=True) if alone else writes
    # Kept in a batch, the account writes nothing to the database (its locks are the batch's):
    # what the batch keeps of it is all it has to take back on a failure. Otherwise it writes
    # as it goes, in a savepoint (or transaction) of its own.
    with nullcontext() if not writes.immediate else transaction.atomic():
        if account is None:
            account = _account_lock(user_id)
            if account is None:
                return SweepReport(ran=True, skipped_busy=1)
        wallet, positions, orders, leverages = account
        user = wallet.user
        if marks is None:
            marks = mark_prices({row.instrument_id for row in positions + orders})
        filled, expired = _orders_trigger(user, wallet, orders, marks, writes)
        if filled or expired:
            positions, orders = open_positions_lock(user), open_orders_lock(user)
            leverages = None
            marks = mark_prices({position.instrument_id for position in positions})
        holdings = _holdings(wallet, positions, orders, marks)
        if leverages is None:
            leverages = _liquidation_reads(wallet, positions, holdings)
        isolated = 0
        for position in [p for p in positions if p.margin_mode == MarginMode.ISOLATED]:
            figures = holdings.position_figures((position.instrument_id, MarginMode.ISOLATED))
            if figures.liquidatable and isolated_liquidate(
                wallet=wallet, position=position, holdings=holdings, orders=orders,
                leverages=leverages, writes=writes,
            ):  # fmt: skip
                isolated += 1
        cross = 0
        if holdings.cross_margin().liquidatable and cross_liquidate(
            wallet=wallet, positions=positions, holdings=holdings, orders=orders,
            leverages=leverages, writes=writes,
        ):  # fmt: skip
            cross = 1
        open_positions = [p for p in positions if p.status == Position.Status.OPEN]
        if isolated or cross:  # its steps changed the wallet, and the positions they reduced
            holdings = _holdings(wallet, open_positions, orders, marks)
        account_watch_set(wallet=wallet, positions=open_positions, holdings=holdings, writes=writes)
        if filled or expired or isolated or cross:  # the wallet was locked without wallet_lock
            writes.account_changed(user_id)
        if alone:
            writes.flush()
        return SweepReport(
            ran=True,
            positions_checked=len(positions),
            orders_filled=filled,
            orders_expired=expired,
            isolated_liquidations=isolated,
            cross_liquidations=cross,
        )


def _account_lock(user_id: int):
    """The account's wallet (SKIP LOCKED: None when busy), open positions and open orders."""
    wallet = (
        with_instruments_version(Wallet.objects.select_for_update(skip_locked=True, of=("self",)))
        .select_related("user")
        .filter(user_id=user_id)
        .first()
    )
    if wallet is None:
        return None
    instruments_version_seen(wallet.instruments_version)
    return wallet, open_positions_lock(wallet.user), open_orders_lock(wallet.user), None


def _liquidation_reads(wallet: Wallet, positions: list[Position], holdings) -> dict[int, int]:
    """What a liquidation of the account reads, read once for all its liquidations when it has
    one to make: its ledger accounts (unless its batch read them), and the other mode's leverage
    of each position (for the receipts' twins)."""
    if not (
        holdings.cross_margin().liquidatable
        or any(
            holdings.position_figures(key).liquidatable
            for key in holdings.holdings
            if key[1] == MarginMode.ISOLATED
        )
    ):
        return {}
    ledger_accounts_attach([wallet], positions)
    return other_mode_leverages(user=wallet.user, positions=positions)


def _holdings(wallet: Wallet, positions: list[Position], orders: list[Order], marks) -> Holdings:
    """``holdings_load``'s figures from the rows the sweep holds in memory, locked: the margin
    held by the account's open orders is theirs (those a liquidation cancelled hold none)."""
    held = sum((o.margin_held for o in orders if o.status == Order.Status.NEW), ZERO)
    return Holdings(wallet.balance, held, holdings_of(positions, marks))


def _orders_trigger(
    user, wallet, orders: list[Order], marks, writes: WriteBatch
) -> tuple[int, int]:
    """Execute or expire the account's open ``orders`` whose trigger the mark crossed. They
    book through the services that write at once (order_execute), so an account with one is
    swept on its own (``ImmediateNeeded``)."""
    filled = expired = 0
    for order in orders:
        mark = marks.get(order.instrument_id)
        if mark is None or not trigger_crossed(
            order_type=order.order_type, side=order.side, price=order.price,
            stop_price=order.stop_price, mark=mark, trailing_extreme=order.trailing_extreme,
            callback_rate=order.callback_rate,
        ):  # fmt: skip
            continue
        if not writes.immediate:
            raise ImmediateNeeded
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
