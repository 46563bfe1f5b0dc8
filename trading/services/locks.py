"""Row locks, always taken in one order, Wallet -> Position(s) -> Order(s), and within a table by
primary key, so two transactions of one user can never wait on each other in a cycle. Every
state change of a user's money starts by locking the wallet, which also serialises them."""

from trading.models import Order, Position, Wallet


def wallet_lock(user) -> Wallet:
    return Wallet.objects.select_for_update().get(user=user)


def open_positions_lock(user) -> list[Position]:
    """All the user's open positions (cross liquidation prices depend on every one of them)."""
    return list(
        Position.objects.select_for_update()
        .filter(user=user, status=Position.Status.OPEN)
        .select_related("instrument")
        .order_by("pk")
    )


def open_orders_lock(user, **filters) -> list[Order]:
    return list(
        Order.objects.select_for_update()
        .filter(user=user, status=Order.Status.NEW, **filters)
        .select_related("instrument")
        .order_by("pk")
    )
