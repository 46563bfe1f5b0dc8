"""Row locks, always taken in one order, Wallet -> Position(s) -> Order(s) -> the insurance fund,
and within a table by primary key, so two transactions of one user can never wait on each other
in a cycle. Every state change of a user's money starts by locking the wallet, which also
serialises them. Rows joined for reading (instrument, user) are not locked (``of=("self",)``):
two users trading one symbol never wait on each other. One exception: the sweep's update of the
trailing stops' extremes (services/sweeps.py) locks open orders alone, in id order, in one
statement that takes no other lock, so it can wait on a user but no user waits on it for more
than that statement."""

from decimal import Decimal

from trading.models import LedgerAccount, Order, Position, Wallet
from trading.services.live import live_account_changed


def wallet_lock(user) -> Wallet:
    """Lock the wallet, and mark the account due for the next sweep: whatever the caller changes
    (balance, positions, margins) may move its liquidation point, so the watch prices computed
    before are no longer to be trusted (trading/services/watch.py). The trader's open pages are
    told at commit (trading/services/live.py)."""
    wallet = Wallet.objects.select_for_update().get(user=user)
    if not wallet.sweep_due:
        wallet.sweep_due = True
        wallet.save(update_fields=["sweep_due"])
    live_account_changed(wallet.user_id)
    return wallet


def open_positions_lock(user) -> list[Position]:
    """All the user's open positions (cross liquidation prices depend on every one of them)."""
    return list(
        Position.objects.select_for_update(of=("self",))
        .filter(user=user, status=Position.Status.OPEN)
        .select_related("instrument", "user")
        .prefetch_related("instrument__brackets")
        .order_by("pk")
    )


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
    fund, _ = LedgerAccount.objects.get_or_create(
        kind=LedgerAccount.Kind.INSURANCE_FUND, user=None, position=None
    )
    return LedgerAccount.objects.select_for_update().get(pk=fund.pk).balance
