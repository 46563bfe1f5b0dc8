"""``ledger_post``: the one function that moves money. See trading/models/wallets.py for the
invariants it keeps."""

from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from trading.models import Journal, LedgerAccount, LedgerEntry, Position, Wallet

Kind = LedgerAccount.Kind
# The journal of an entry posted alone: a funding payment is one entry, and its own event.
_ALONE = {LedgerEntry.Kind.FUNDING: Journal.Kind.FUNDING}


def _ledger_account(holder) -> LedgerAccount:
    """The holder's ledger account. A wallet's or a position's is kept on the (locked) instance,
    so that a transaction posting several entries looks it up once."""
    if isinstance(holder, Wallet | Position):
        account = getattr(holder, "_ledger_account", None)
        if account is None:
            if isinstance(holder, Wallet):
                account, _ = LedgerAccount.objects.get_or_create(
                    kind=Kind.WALLET, user_id=holder.user_id
                )
            else:
                account, _ = LedgerAccount.objects.get_or_create(
                    kind=Kind.ISOLATED_MARGIN, position=holder, defaults={"user_id": holder.user_id}
                )
            holder._ledger_account = account
        return account
    account, _ = LedgerAccount.objects.get_or_create(kind=Kind(holder), user=None, position=None)
    return account


def _apply(holder, change: Decimal) -> None:
    """Keep the cached balance of a wallet or an isolated position's margin equal to its ledger
    account. The caller holds the row lock; a balance below 0 is a bug, refused here and by the
    database constraint."""
    if isinstance(holder, Wallet):
        holder.balance += change
        if holder.balance < 0:
            raise ValueError(f"wallet {holder.pk} would go below 0")
        holder.save(update_fields=["balance", "updated_at"])
    elif isinstance(holder, Position):
        holder.isolated_margin += change
        if holder.isolated_margin < 0:
            raise ValueError(f"isolated margin of position {holder.pk} would go below 0")
        holder.save(update_fields=["isolated_margin", "updated_at"])


def journal_open(kind: Journal.Kind, *, at: datetime | None = None) -> Journal:
    """A journal for the entries of one event (a fill, a liquidation, a funding payment), to
    pass to each of its ``ledger_post`` calls."""
    return Journal.objects.create(kind=kind, created_at=timezone.now() if at is None else at)


def ledger_post(
    *,
    kind: LedgerEntry.Kind,
    amount: Decimal,
    source,
    destination,
    user=None,
    position: Position | None = None,
    order=None,
    memo: str = "",
    at: datetime | None = None,
    journal: Journal | None = None,
) -> LedgerEntry | None:
    """Move ``amount`` from ``source`` to ``destination``: each a locked Wallet, a locked isolated
    Position (its margin) or a system account kind (FEES, INSURANCE_FUND, HOUSE, DEPOSITS).
    Nothing is written for 0. Must run inside the caller's transaction. ``at`` is the entry's
    time when the money is owed for an earlier moment than now (a funding payment: its funding
    time); by default, now. ``journal`` groups it with the other entries of its event; without
    one, it is an event of its own (a single movement, or a funding payment)."""
    if not connection.in_atomic_block:
        raise RuntimeError("ledger_post must run inside the transaction of the change it records")
    if amount < 0:
        raise ValueError(f"a ledger amount is never negative: {amount}")
    if amount == 0:
        return None
    entry = LedgerEntry.objects.create(
        journal=journal or journal_open(_ALONE.get(kind, Journal.Kind.TRANSFER), at=at),
        kind=kind,
        amount=amount,
        source=_ledger_account(source),
        destination=_ledger_account(destination),
        user=user,
        position=position,
        order=order,
        memo=memo,
        created_at=timezone.now() if at is None else at,
    )
    _apply(source, -amount)
    _apply(destination, amount)
    return entry
