"""Row locks, always taken in one order, Wallet -> Position(s) -> Order(s) -> the insurance fund,
and within a table by primary key, so two transactions of one user can never wait on each other
in a cycle. Every state change of a user's money starts by locking the wallet, which also
serialises them. Rows joined for reading (instrument, user) are not locked (``of=("self",)``):
two users trading one symbol never wait on each other. One exception: the sweep's update of the
trailing stops' extremes (services/sweeps.py) locks open orders alone, in id order, in one
statement that takes no other lock, so it can wait on a user but no user waits on it for more
than that statement."""

from decimal import Decimal

from django.db.models import OuterRef, Subquery

from trading.models import InstrumentsVersion, LedgerAccount, Order, Position, Wallet
from trading.selectors.instruments import instrument_by_pk, instruments_version_seen
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
    wallet = (
        with_instruments_version(Wallet.objects.select_for_update())
        .annotate(
            ledger_account_id=Subquery(
                LedgerAccount.objects.filter(
                    kind=LedgerAccount.Kind.WALLET, user_id=OuterRef("user_id")
                ).values("pk")[:1]
            ),
        )
        .get(user=user)
    )
    instruments_version_seen(wallet.instruments_version)
    if not wallet.sweep_due:
        wallet.sweep_due = True
        wallet.save(update_fields=["sweep_due"])
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
    positions = list(
        Position.objects.select_for_update(of=("self",))
        .filter(user=user, status=Position.Status.OPEN)
        .select_related("user", "ledger_account")
        .order_by("pk")
    )
    for position in positions:
        position.instrument = instrument_by_pk(position.instrument_id)
    return positions


def open_orders_lock(user, **filters) -> list[Order]:
    return list(
        Order.objects.select_for_update(of=("self",))
        .filter(user=user, status=Order.Status.NEW, **filters)
        .select_related("instrument", "user")
        .order_by("pk")
    )


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
    wallets' statement read (``with_instruments_version``). A batch may take these after
    the insurance fund (it keeps the fund from its first liquidation to its commit): the wallets
    are never waited for, and nobody else holds the positions or orders of an account whose
    wallet the batch holds, so this waits on no one who may be waiting for the fund."""
    wallets = list(
        with_instruments_version(Wallet.objects.select_for_update(skip_locked=True, of=("self",)))
        .select_related("user")
        .filter(user_id__in=user_ids)
        .order_by("pk")
    )
    if wallets:
        instruments_version_seen(wallets[0].instruments_version)
    accounts = {wallet.user_id: (wallet, [], []) for wallet in wallets}
    positions = list(
        Position.objects.select_for_update()
        .filter(user_id__in=accounts, status=Position.Status.OPEN)
        .order_by("pk")
    )
    orders = list(
        Order.objects.select_for_update()
        .filter(user_id__in=accounts, status=Order.Status.NEW)
        .order_by("pk")
    )
    for rows, index in ((positions, 1), (orders, 2)):
        for row in rows:
            wallet = accounts[row.user_id][0]
            row.user, row.instrument = wallet.user, instrument_by_pk(row.instrument_id)
            accounts[row.user_id][index].append(row)
    return accounts
