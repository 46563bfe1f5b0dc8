"""``ledger_post`` and ``ledger_post_all``: the one writer of money. See trading/models/wallets.py
for the invariants it keeps."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from trading.models import Journal, LedgerAccount, LedgerEntry, Position, Wallet
from trading.selectors.instruments import system_ledger_accounts
from trading.services.bulk_writes import WritesStatement, row_new

Kind = LedgerAccount.Kind
# The journal of an entry posted alone: a funding payment is one entry, and its own event.
_ALONE = {LedgerEntry.Kind.FUNDING: Journal.Kind.FUNDING}


def _ledger_account(holder) -> LedgerAccount:
    """The holder's ledger account, looked up once: a wallet's comes with its lock
    (services/locks.py) and a position's with its row (open_positions_lock), or is read once
    and kept on the (locked) instance; the system accounts are kept in this process
    (selectors/instruments.py's system_ledger_accounts), since they are created once: each from
    the commit of the transaction that found it (one that created it may still roll back)."""
    if isinstance(holder, Wallet):
        account = getattr(holder, "_ledger_account", None)
        if account is None:
            account_id = getattr(holder, "ledger_account_id", None)
            if account_id is None:
                account, _ = LedgerAccount.objects.get_or_create(
                    kind=Kind.WALLET, user_id=holder.user_id
                )
            else:
                account = LedgerAccount(pk=account_id, kind=Kind.WALLET, user_id=holder.user_id)
            holder._ledger_account = account
        return account
    if isinstance(holder, Position):
        account = getattr(holder, "_ledger_account", None)
        if account is None and holder.pk is None:  # inserted with the entries (ledger_post_all)
            account = LedgerAccount(
                kind=Kind.ISOLATED_MARGIN, position=holder, user_id=holder.user_id
            )
            holder._ledger_account = account
        if account is None:
            known = Position.ledger_account.is_cached(holder)
            account = getattr(holder, "ledger_account", None) if known else None
            if account is None:  # the position is locked: no one else creates its account
                if not known:
                    account = LedgerAccount.objects.filter(position=holder).first()
                account = account or LedgerAccount.objects.create(
                    kind=Kind.ISOLATED_MARGIN, position=holder, user_id=holder.user_id
                )
            holder._ledger_account = account
        return account
    kind = Kind(holder)
    known = system_ledger_accounts()
    if kind in known:
        return known[kind]
    account, _ = LedgerAccount.objects.get_or_create(kind=kind, user=None, position=None)
    transaction.on_commit(lambda: known.setdefault(kind, LedgerAccount(pk=account.pk, kind=kind)))
    return account


def ledger_system_accounts_keep() -> None:
    """Look up (creating them the first time) the system accounts, kept in this process from the
    commit of the caller's transaction: a sweep does it in its first one, so that its batches
    of liquidations never look them up (``_ledger_account``)."""
    for kind in (Kind.FEES, Kind.INSURANCE_FUND, Kind.HOUSE, Kind.DEPOSITS):
        _ledger_account(kind)


def _apply(
    changes: dict[int, tuple[object, Decimal]],
    unsaved: dict[int, list[str]],
    statement: WritesStatement,
) -> None:
    """Keep the cached balance of each wallet or isolated position's margin that ``changes``
    (id of the holder -> (holder, change)) touch equal to its ledger account: one write each,
    in ``statement``, with the ``unsaved`` fields the caller changed on it (taken out of
    ``unsaved``). The caller holds the row locks; a balance below 0 is a bug, refused here and
    by the database constraint."""
    for key, (holder, change) in changes.items():
        fields = [*unsaved.pop(key, ()), "updated_at"]
        if isinstance(holder, Wallet):
            holder.balance += change
            if holder.balance < 0:
                raise ValueError(f"wallet {holder.pk} would go below 0")
            statement.update(holder, ["balance", *fields])
        else:
            holder.isolated_margin += change
            if holder.isolated_margin < 0:
                raise ValueError(f"isolated margin of position {holder.pk} would go below 0")
            if holder.pk is not None:  # else a new position, ``statement`` inserts with it
                statement.update(holder, ["isolated_margin", *fields])


@dataclass(frozen=True)
class Posting:
    """One movement of ``amount`` from ``source`` to ``destination``: each a locked Wallet, a
    locked isolated Position (its margin) or a system account kind (FEES, INSURANCE_FUND, HOUSE,
    DEPOSITS)."""

    kind: LedgerEntry.Kind
    amount: Decimal
    source: object
    destination: object
    user: object = None
    position: Position | None = None
    order: object = None
    memo: str = ""


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
    """Move ``amount`` from ``source`` to ``destination`` (see ``Posting``); nothing is written
    for 0. ``at`` is the entry's time when the money is owed for an earlier moment than now (a
    funding payment: its funding time); by default, now. ``journal`` groups it with the other
    entries of its event; without one, it is an event of its own (a single movement, or a
    funding payment)."""
    posting = Posting(kind, amount, source, destination, user, position, order, memo)
    if amount == 0:
        return None
    journal = journal or journal_open(_ALONE.get(kind, Journal.Kind.TRANSFER), at=at)
    (entry,) = ledger_post_all([posting], journal=journal, at=at)
    return entry


def ledger_post_all(
    postings,
    *,
    journal: Journal,
    at: datetime | None = None,
    unsaved: dict[int, list[str]] | None = None,
    statement: WritesStatement | None = None,
) -> list[LedgerEntry]:
    """Post the movements of one event, in order, in ``journal``: the entries in one insert, and
    each wallet's or margin's cached balance written once, for what they all change, with the
    fields the caller changed on that row and has not saved (``unsaved``: id of the row -> its
    fields; those written are taken out); all in one statement. Given a ``statement``, they are
    added to it, for the caller to send with the event's other rows (a fill's: its own row and
    its position's). Must run inside the caller's transaction (the one of the change the entries
    record)."""
    if not connection.in_atomic_block:
        raise RuntimeError("ledger_post must run inside the transaction of the change it records")
    created_at = timezone.now() if at is None else at
    entries, changes, fund_change = _entries_of(postings, journal=journal, created_at=created_at)
    writes = WritesStatement() if statement is None else statement
    writes.insert(LedgerAccount, _accounts_new(entries))
    writes.insert(LedgerEntry, entries)
    _apply(changes, {} if unsaved is None else unsaved, writes)
    if statement is None:
        writes.run()
    if fund_change:  # its floor of 0 is the database's constraint
        LedgerAccount.objects.filter(pk=_ledger_account(Kind.INSURANCE_FUND).pk).update(
            balance=F("balance") + fund_change
        )
    return entries


def _accounts_new(entries: list[LedgerEntry]) -> list[LedgerAccount]:
    """The accounts ``entries`` move money from or to that are not in the database yet: the
    margin of an isolated position the same statement opens."""
    new = {}
    for entry in entries:
        for account in (entry.source, entry.destination):
            if account.pk is None:
                new[id(account)] = account
    return list(new.values())


def _entries_of(postings, *, journal: Journal, created_at: datetime):
    """The entries of ``postings`` (none for 0), what they change of each wallet's or margin's
    balance (id of the row -> (row, change)), and of the insurance fund's."""
    entries, changes, fund_change = [], {}, Decimal(0)
    for posting in postings:
        if posting.amount < 0:
            raise ValueError(f"a ledger amount is never negative: {posting.amount}")
        if posting.amount == 0:
            continue
        entries.append(
            row_new(
                LedgerEntry,
                journal=journal,
                kind=posting.kind,
                amount=posting.amount,
                source=_ledger_account(posting.source),
                destination=_ledger_account(posting.destination),
                user=posting.user,
                position=posting.position,
                order=posting.order,
                memo=posting.memo,
                created_at=created_at,
            )
        )
        for holder, change in (
            (posting.source, -posting.amount),
            (posting.destination, posting.amount),
        ):
            if isinstance(holder, Wallet | Position):
                _, before = changes.get(id(holder), (holder, Decimal(0)))
                changes[id(holder)] = (holder, before + change)
            elif holder == Kind.INSURANCE_FUND:
                fund_change += change
    return entries, changes, fund_change


def ledger_post_kept(postings, *, journal: Journal, writes, unsaved: dict | None = None) -> None:
    """``ledger_post_all`` for a sweep's batch (trading/services/write_batches.py): the same
    entries and balance changes, kept in ``writes`` to be written with the batch's other rows.
    The balances change in memory at once, refused below 0 as ``ledger_post_all`` refuses them;
    the rows changed (with the caller's ``unsaved`` fields, taken out) are written by the batch.
    """
    entries, changes, fund_change = _entries_of(
        postings, journal=journal, created_at=timezone.now()
    )
    writes.create(*entries)
    writes.fund_move(fund_change)
    for key, (holder, change) in changes.items():
        (unsaved or {}).pop(key, None)
        if isinstance(holder, Wallet):
            holder.balance += change
            if holder.balance < 0:
                raise ValueError(f"wallet {holder.pk} would go below 0")
        else:
            holder.isolated_margin += change
            if holder.isolated_margin < 0:
                raise ValueError(f"isolated margin of position {holder.pk} would go below 0")
        writes.update(holder)


def ledger_accounts_attach(wallets: list[Wallet], positions: list[Position]) -> None:
    """Look up the ledger accounts of ``wallets`` and of the isolated ``positions`` in one query
    (a sweep's batch, an account about to be liquidated), kept on the instances as
    ``_ledger_account`` keeps them. Those already kept are not looked up again; one that does
    not exist yet is left to ``_ledger_account``, which creates it."""
    wallets = {w.user_id: w for w in wallets if not hasattr(w, "_ledger_account")}
    isolated = {
        p.pk: p
        for p in positions
        if p.margin_mode == "ISOLATED" and not hasattr(p, "_ledger_account")
    }
    if not (wallets or isolated):
        return
    for account in LedgerAccount.objects.filter(
        Q(kind=Kind.WALLET, user_id__in=wallets)
        | Q(kind=Kind.ISOLATED_MARGIN, position_id__in=isolated)
    ):
        if account.kind == Kind.WALLET:
            wallets[account.user_id]._ledger_account = account
        else:
            isolated[account.position_id]._ledger_account = account
