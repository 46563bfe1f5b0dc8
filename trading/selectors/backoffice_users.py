"""The back office's users list: each account's wallet balance, equity, open positions and cross
margin ratio, computed by the engine from the database (as the trader's own account panel is),
for a whole page of users in a fixed number of queries."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from trading.selectors.holdings import holdings_load_many


@dataclass(frozen=True)
class UserFigures:
    """``cross_margin_ratio`` is None once the cross margin balance is gone (the account is past
    its liquidation point)."""

    wallet_balance: Decimal
    equity: Decimal
    open_positions: int
    cross_margin_ratio: Decimal | None


def user_figures(*, user_ids: Iterable[int]) -> dict[int, UserFigures]:
    """User id -> figures, for every id in ``user_ids``."""
    figures = {}
    for user_id, holdings in holdings_load_many(user_ids=user_ids).items():
        account = holdings.figures()
        figures[user_id] = UserFigures(
            wallet_balance=account.wallet_balance,
            equity=account.equity,
            open_positions=len(holdings.holdings),
            cross_margin_ratio=account.cross_margin_ratio,
        )
    return figures
