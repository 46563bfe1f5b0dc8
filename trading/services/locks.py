"""Row locks, always taken in one order, Wallet -> Position(s) -> Order(s) -> the insurance fund,
and within a table by primary key, so two transactions of one user can never wait on each other
in a cycle. Every state change of a user's money starts by locking the wallet, which also
serialises them. Rows joined for reading (instrument, user) are not locked (``of=("self",)``):
two users trading one symbol never wait on each other. One exception: the sweep's update of the
trailing stops' extremes (services/sweeps.py) locks open orders alone, in id order, in one
statement that takes no other lock, so it can wait on a user but no user waits on it for more
than that statement."""

import functools
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Subquery

from marginsite.database_pool import prepared_cursor
from trading.models import InstrumentsVersion, LedgerAccount, Order, Position, Wallet
from trading.selectors.instruments import instrument_by_pk, instruments_version_seen
from trading.services.bulk_writes import row_update
from trading.services.live import live_account_changed


def wallet_lock(user) -> Wallet:
    """Lock the wallet, and mark the account due for the next sweep: whatever the caller changes
    (balance, positions, margins) may move its liquidation point, so the watch prices computed
    before are no longer to be trusted (trading/services/watch.py). The trader's open pages are
    told at commit (trading/services/live.py).

    The same statement reads the instruments' version, so that the instruments this process
    keeps in memory are those of that version from here on (trading/selectors/instruments.py),
    and the id of the wallet's ledger account (created with the wallet), for ledger_post. (A
    version that changes while the lock is awaited is seen from the next transaction, as if the
    operator's change had come a moment later: instruments are read, never locked, by orders.)"""
    sql, fields = _wallet_lock_query()
    with prepared_cursor() as cursor:
        cursor.execute(sql, [getattr(user, "pk", user)])
        row = cursor.fetchone()
    if row is None:
        raise Wallet.DoesNotExist(f"user {getattr(user, 'pk', user)} has no wallet")
    wallet = Wallet.from_db(connection.alias, fields, row[: len(fields)])
    wallet.instruments_version, wallet.ledger_account_id = row[len(fields) :]
    instruments_version_seen(wallet.instruments_version)
    if not wallet.sweep_due:
        wallet.sweep_due = True
        row_update(wallet, ["sweep_due"])
    live_account_changed(wallet.user_id)
    return wallet


def with_instruments_version(wallets):
    """``wallets`` (a locking queryset) reading the instruments' version in the same statement:
    whoever locks a wallet then calls ``instruments_version_seen`` with it, before
    ``open_positions_lock`` gives the positions the instruments kept in memory."""
    return wallets.annotate(
        instruments_version=Subquery(InstrumentsVersion.objects.values("version")[:1])
    )


def open_positions_lock(user) -> list[Position]:
    """All the user's open positions (cross liquidation prices depend on every one of them), each
    with its isolated margin's ledger account (if it has one) and its instrument and brackets
    from the ones kept in memory at the version the wallet's lock read (taken first)."""
    sql, _ = _open_positions_lock_query()
    with prepared_cursor() as cursor:
        cursor.execute(sql, {"user": getattr(user, "pk", user)})
        return _positions_of(cursor.fetchall())


def open_positions_lock_reading(user, sql: str, params: dict) -> tuple[list[Position], tuple]:
    """``open_positions_lock`` and a read of one row (``sql``, its named ``params``; ``user`` is
    the user's id) in one statement: the positions, and that row. An order reads its account
    (selectors/order_accounts.py) this way, after the wallet's lock, as its positions are."""
    positions_sql, models = _open_positions_lock_query()
    width = sum(len(fields) for _, fields in models)
    with prepared_cursor() as cursor:
        cursor.execute(
            f"SELECT * FROM ({sql}) reading LEFT JOIN LATERAL ({positions_sql}) locked ON true",
            {**params, "user": getattr(user, "pk", user)},
        )
        rows = cursor.fetchall()
    read = len(rows[0]) - width
    return _positions_of([row[read:] for row in rows if row[read] is not None]), rows[0][:read]


def _positions_of(rows, owners: dict | None = None) -> list[Position]:
    """The positions of rows of ``_open_positions_lock_query``'s statement; of its ``many``
    statement, with ``owners`` (user id -> user). One copy of each instrument for them all."""
    _, models = _open_positions_lock_query(many=owners is not None)
    positions, instruments = [], {}
    for row in rows:
        position, *owner, account = _instances(row, models)
        position.user = owners[position.user_id] if owners is not None else owner[0]
        Position.ledger_account.related.set_cached_value(position, account)
        if account is not None:
            LedgerAccount.position.field.set_cached_value(account, position)
        if position.instrument_id not in instruments:
            instruments[position.instrument_id] = instrument_by_pk(position.instrument_id)
        position.instrument = instruments[position.instrument_id]
        positions.append(position)
    return positions


@functools.cache
def _wallet_lock_query(*, many: bool = False) -> tuple[str, list[str]]:
    """``wallet_lock``'s statement (the wallet's fields, then the instruments' version and the id
    of its ledger account), and the wallet's fields in order. Plain SQL, made once: it runs on
    every order, and building it through the ORM cost more than running it. ``many``: the
    wallets of the users of a list of ids, by primary key, SKIP LOCKED, each with its user's
    fields (joined for reading) after its own. The ledger account's kind is written in its text,
    not bound: the plan PostgreSQL keeps for a prepared statement is made without its
    parameters' values, and only a value it sees lets it read the partial index of wallet
    accounts (``ledger_wallet_account_unique``), not every margin account the trader has had."""
    quote = connection.ops.quote_name
    fields, user = Wallet._meta.concrete_fields, get_user_model()
    columns = [f"w.{quote(f.column)}" for f in fields]
    if many:
        columns += [f"u.{quote(f.column)}" for f in user._meta.concrete_fields]
    columns += [
        f"(SELECT version FROM {quote(InstrumentsVersion._meta.db_table)} LIMIT 1)",
        f"(SELECT id FROM {quote(LedgerAccount._meta.db_table)} "
        f"WHERE kind = '{LedgerAccount.Kind.WALLET}' AND user_id = w.user_id LIMIT 1)",
    ]
    if many:
        rest = (
            f"JOIN {quote(user._meta.db_table)} u ON u.id = w.user_id "
            "WHERE w.user_id = ANY(%s) ORDER BY w.id FOR UPDATE OF w SKIP LOCKED"
        )
    else:
        rest = "WHERE w.user_id = %s FOR UPDATE"
    sql = f"SELECT {', '.join(columns)} FROM {quote(Wallet._meta.db_table)} w {rest}"
    return sql, [f.attname for f in fields]


@functools.cache
def _open_positions_lock_query(*, many: bool = False):
    """``open_positions_lock``'s statement (its parameter: ``user``, the user's id): each open
    position (locked, by primary key) with its user and its ledger account (none for a cross
    position), joined for reading; and the models each row holds, in order, with their fields.
    ``many``: the positions of the users of ``users`` (their ids), without the users, which the
    caller holds. Plain SQL, made once, as ``wallet_lock``'s."""
    quote = connection.ops.quote_name
    user = get_user_model()
    models = [(Position, "p"), *([] if many else [(user, "u")]), (LedgerAccount, "a")]
    columns = ", ".join(
        f"{alias}.{quote(f.column)}" for model, alias in models for f in model._meta.concrete_fields
    )
    owners = "" if many else f"JOIN {quote(user._meta.db_table)} u ON u.id = p.user_id "
    whose = "= ANY(%(users)s)" if many else "= %(user)s"
    sql = (
        f"SELECT {columns} FROM {quote(Position._meta.db_table)} p {owners}"
        f"LEFT JOIN {quote(LedgerAccount._meta.db_table)} a ON a.position_id = p.id "
        f"WHERE p.user_id {whose} AND p.status = '{Position.Status.OPEN}' "
        "ORDER BY p.id FOR UPDATE OF p"
    )
    return sql, [(model, [f.attname for f in model._meta.concrete_fields]) for model, _ in models]


def _instances(row, models) -> list:
    """The instances of ``models`` (model, fields) a row holds, in order; None for a model whose
    columns are all null (an outer join that found nothing)."""
    instances, start = [], 0
    for model, fields in models:
        values = row[start : start + len(fields)]
        start += len(fields)
        present = any(value is not None for value in values)
        instances.append(model.from_db(connection.alias, fields, values) if present else None)
    return instances


def open_orders_lock(user, **filters) -> list[Order]:
    return list(
        Order.objects.select_for_update(of=("self",))
        .filter(user=user, status=Order.Status.NEW, **filters)
        .select_related("instrument", "user")
        .order_by("pk")
    )


def _wallets_locked(user_ids) -> list[Wallet]:
    """The wallets of ``user_ids`` that nobody holds, locked (``_wallet_lock_query``'s ``many``
    statement), each with its user, the instruments' version and its ledger account's id."""
    sql, fields = _wallet_lock_query(many=True)
    with prepared_cursor() as cursor:
        cursor.execute(sql, [list(user_ids)])
        rows = cursor.fetchall()
    user = get_user_model()
    models = [(Wallet, fields), (user, [f.attname for f in user._meta.concrete_fields])]
    wallets = []
    for row in rows:
        wallet, owner = _instances(row, models)
        wallet.user = owner
        wallet.instruments_version, wallet.ledger_account_id = row[-2:]
        wallets.append(wallet)
    return wallets


def insurance_fund_lock() -> Decimal:
    """The insurance fund's balance, its row locked to the end of the transaction: what the fund
    can pay stays what it is until the payment is written (two liquidations never spend the same
    money). Taken last, after the account's own rows."""
    return _insurance_fund_balance(LedgerAccount.objects.select_for_update())


def insurance_fund_read() -> Decimal:
    """The insurance fund's balance as last committed, its row not locked: for a sweep's batch,
    whose payments the fund's row checks when they are written (trading/services/
    write_batches.py)."""
    return _insurance_fund_balance(LedgerAccount.objects.all())


def _insurance_fund_balance(accounts) -> Decimal:
    """The fund's balance read through ``accounts``; its row is made (empty) the first time."""
    fund = {"kind": LedgerAccount.Kind.INSURANCE_FUND, "user": None, "position": None}
    balance = accounts.filter(**fund).values_list("balance", flat=True).first()
    if balance is None:
        LedgerAccount.objects.get_or_create(**fund)
        balance = accounts.filter(**fund).values_list("balance", flat=True).get()
    return balance


def sweep_accounts_lock(user_ids) -> dict[int, tuple[Wallet, list[Position], list[Order]]]:
    """Some accounts of a sweep batch, locked in three statements: user id -> (wallet, open
    positions, open orders). The wallets first, by primary key, with SKIP LOCKED (an account
    busy with its owner's own order is left out, for the next tick); then the positions, then
    the orders, of the accounts whose wallet it holds: the order of this module, for every
    account at once (nobody else takes a position or an order of an account without its
    wallet). Their instruments, with the brackets, are those kept in memory at the version the
    wallets' statement read; each wallet and isolated position comes with its ledger account's
    id, as with ``wallet_lock`` and ``open_positions_lock``. A batch may take these after the
    insurance fund (it keeps the fund from its first liquidation to its commit): the wallets
    are never waited for, and nobody else holds the positions or orders of an account whose
    wallet the batch holds, so this waits on no one who may be waiting for the fund."""
    wallets = _wallets_locked(user_ids)
    if wallets:
        instruments_version_seen(wallets[0].instruments_version)
    accounts = {wallet.user_id: (wallet, [], []) for wallet in wallets}
    sql, _ = _open_positions_lock_query(many=True)
    with prepared_cursor() as cursor:
        cursor.execute(sql, {"users": list(accounts)})
        positions = _positions_of(cursor.fetchall(), {w.user_id: w.user for w in wallets})
    orders = list(
        Order.objects.select_for_update()
        .filter(user_id__in=accounts, status=Order.Status.NEW)
        .order_by("pk")
    )
    for order in orders:
        order.user = accounts[order.user_id][0].user
        order.instrument = instrument_by_pk(order.instrument_id)
    for rows, index in ((positions, 1), (orders, 2)):
        for row in rows:
            accounts[row.user_id][index].append(row)
    return accounts
