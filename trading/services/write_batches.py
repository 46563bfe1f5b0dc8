"""``WriteBatch``: the rows a sweep's liquidations write, kept in memory and written in bulk.

A flash crash liquidates thousands of accounts in one tick. Written one row at a time, each
liquidation costs some twenty round trips to the database; kept here, a whole batch of accounts
costs one insert per table and one update per table (trading/services/sweeps.py). The rows are
the very ones the one-by-one writes would be: the same ledger entries, fills, orders, receipts
and notices, the same changes to wallets, positions and orders.

What a batch keeps and what it has written are never confused:
- Each account's rows are taken back on its failure (``mark``/``rollback``): kept in a batch, an
  account writes nothing to the database itself, so a failing one leaves nothing behind.
- Nothing of the batch reads back what it has not written yet: its rows are only inserted, and
  the rows it changes are the ones its accounts locked and hold in memory. The insurance fund is
  the one shared row: its balance is read once, and what the batch has paid in or out since is
  added here (``fund_balance``). A batch reads it without its lock, so that the shards' batches
  run side by side instead of taking turns on that row; the fund's row refuses to go below 0
  (a database constraint) when the batch writes, and a refused batch is swept again one account
  at a time, each locking the fund as a lone liquidation does. A liquidation the fund would not
  cover in full locks it (``fund_lock``) and is planned again with what it holds then: money
  another shard paid into it meanwhile covers it. The batch's rows are checked (foreign keys)
  as they are inserted, and the fund's row is written last: unless it had to lock it before,
  the batch holds it only for its commit.
- Whatever must see the database as the batch left it (auto-deleveraging ranks other accounts
  from the database) runs only once the batch is written (``flush``); an account that needs it
  is swept on its own (``ImmediateNeeded``).
"""

from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from trading.models import (
    Fill,
    Journal,
    LedgerAccount,
    LedgerEntry,
    LiquidationEvent,
    Notification,
    Order,
    Position,
    Wallet,
)
from trading.services.bulk_writes import rows_insert, rows_update, statement_run
from trading.services.live import live_accounts_changed
from trading.services.locks import insurance_fund_lock, insurance_fund_read

# Inserted in this order: each table's foreign keys point only to tables inserted before it.
INSERT_ORDER = (
    Journal,
    Order,
    LiquidationEvent,
    LedgerEntry,
    Fill,
    LiquidationEvent.positions.through,
    Notification,
)
# The fields a liquidation or the sweep changes on the rows it locked.
UPDATED_FIELDS = {
    Order: ["status", "margin_held", "updated_at"],
    Position: [
        "quantity", "realized_pnl", "isolated_margin", "status", "closed_at",
        "liquidation_cooldown_until", "watch_price", "updated_at",
    ],
    Wallet: ["balance", "sweep_due", "updated_at"],
}  # fmt: skip


class ImmediateNeeded(Exception):
    """The account needs the database as it stands now (a triggered order, auto-deleveraging):
    the sweep writes its batch, then sweeps that account on its own."""


class WriteBatch:
    """Rows to insert and locked rows to update, written by ``flush`` (see the module).
    ``immediate``: this batch holds one account, swept on its own, so it may write whenever a
    step must see the database (``ImmediateNeeded`` is never raised)."""

    def __init__(self, *, immediate: bool = False):
        self.immediate = immediate
        self._created: list = []
        self._updated: list = []
        self._fund_change = Decimal(0)
        self._fund_read: Decimal | None = None  # the fund's balance in the database
        self._fund_locked = immediate  # whether this transaction holds the fund's row
        # the sides (instrument id, side) of bankrupt positions whose auto-deleveraging queue
        # was found empty: the batch opens no position, so they stay empty until it writes
        self.queues_empty: set[tuple[int, str]] = set()
        self.ended = False
        self._accounts_changed: list[int] = []  # whose open pages are told when it is written

    def create(self, *rows) -> None:
        """Insert ``rows`` (unsaved instances; foreign keys to rows of this batch are resolved
        when they are written)."""
        self._created.extend(rows)

    def update(self, row) -> None:
        """Write the fields a liquidation changes (``UPDATED_FIELDS``) of ``row``, locked by the
        caller, as they are in memory when the batch is written."""
        row.updated_at = timezone.now()
        self._updated.append(row)

    def account_changed(self, user_id: int) -> None:
        """Tell the open pages of ``user_id`` that the account changed, once the batch is
        written (one note per account, all in one round trip)."""
        self._accounts_changed.append(user_id)

    def fund_move(self, change: Decimal) -> None:
        self._fund_change += change

    def fund_balance(self) -> Decimal:
        """What the insurance fund holds with this batch's payments: read once, then kept here;
        locked (after the accounts' rows) when the batch writes as it goes (``immediate``), read
        without the lock otherwise (see the module)."""
        if self._fund_read is None:
            self._fund_read = insurance_fund_lock() if self._fund_locked else insurance_fund_read()
        return self._fund_read + self._fund_change

    def fund_lock(self) -> bool:
        """Lock the fund's row (after the accounts' rows) and read it again, unless this batch
        holds it already; returns whether it did (what the batch read may have moved)."""
        if self._fund_locked:
            return False
        self._fund_locked, self._fund_read = True, insurance_fund_lock()
        return True

    def fund_forget(self) -> None:
        """The fund changed in the database behind this batch (auto-deleveraging books through
        ``ledger_post``): read it again next time."""
        self._fund_read = None

    def written_behind(self) -> None:
        """An account swept on its own wrote the database behind this batch: the fund, and,
        through auto-deleveraging, other accounts' rows, maybe rows the batch locked and read
        for accounts it has not swept yet. The batch reads the fund again, and, unless each of
        its accounts reads its own rows (``immediate``), ends there (``ended``): its remaining
        accounts are locked and read afresh by the next batch."""
        self.fund_forget()
        self.ended = not self.immediate

    def mark(self) -> tuple:
        return (
            len(self._created),
            len(self._updated),
            len(self._accounts_changed),
            self._fund_change,
        )

    def rollback(self, mark: tuple) -> None:
        """Forget what was kept since ``mark`` (the account's savepoint was rolled back)."""
        created, updated, changed, self._fund_change = mark
        del self._created[created:], self._updated[updated:], self._accounts_changed[changed:]
        self._fund_read = None  # a rolled-back flush may have moved it, and freed its lock
        self._fund_locked = self.immediate

    def flush(self) -> None:
        """Write everything kept, in the caller's transaction: one insert per table, one update
        per table, one update of the fund, last (see the module)."""
        statement_run("SET CONSTRAINTS ALL IMMEDIATE", [])
        by_model: dict = {}
        for row in self._created:
            by_model.setdefault(type(row), []).append(row)
        for model in INSERT_ORDER:
            if rows := by_model.pop(model, None):
                rows_insert(model, rows)
        if by_model:
            raise TypeError(f"no insert order for {sorted(m.__name__ for m in by_model)}")
        updated: dict = {}
        for row in self._updated:
            updated.setdefault(type(row), {})[id(row)] = row
        for model, rows in updated.items():
            rows_update(model, list(rows.values()), UPDATED_FIELDS[model])
        if self._fund_change:  # its floor of 0 is the database's constraint
            fund = LedgerAccount.objects.filter(
                kind=LedgerAccount.Kind.INSURANCE_FUND, user=None, position=None
            )
            fund.update(balance=F("balance") + self._fund_change)
            self._fund_locked, self._fund_read = True, None  # read again: this update locked it
        statement_run("SET CONSTRAINTS ALL DEFERRED", [])  # the foreign keys' own: to the commit
        live_accounts_changed(self._accounts_changed)  # sent when the transaction commits
        self._created, self._updated, self._fund_change = [], [], Decimal(0)
        self._accounts_changed = []
        self.queues_empty.clear()
