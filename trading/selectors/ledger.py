"""The ledger's invariants, checked against the stored figures (``manage.py check_ledger``)."""

from decimal import Decimal, localcontext

from django.db.models import Q, Sum

from trading.engine.decimals import ENGINE_CONTEXT
from trading.models import LedgerAccount, LedgerEntry, Position, Wallet
from trading.money import ZERO


def _account_balances() -> dict[int, Decimal]:
    """Balance of every ledger account: what came in minus what went out, summed in SQL (and the
    two sums subtracted with every digit: Python's default 28 would round above 10^20)."""
    balances: dict[int, Decimal] = {}
    with localcontext(ENGINE_CONTEXT):
        for row in LedgerEntry.objects.values("destination_id").annotate(total=Sum("amount")):
            received = balances.get(row["destination_id"], ZERO) + row["total"]
            balances[row["destination_id"]] = received
        for row in LedgerEntry.objects.values("source_id").annotate(total=Sum("amount")):
            balances[row["source_id"]] = balances.get(row["source_id"], ZERO) - row["total"]
    return balances


def ledger_problems() -> list[str]:
    """Every broken invariant, as a sentence; an empty list means the books balance.

    - the accounts other than DEPOSITS hold exactly what DEPOSITS issued;
    - every wallet's balance equals its ledger account, and none is below 0;
    - every isolated position's margin equals its ledger account (0 once it is closed).
    """
    problems = []
    balances = _account_balances()
    accounts = {account.pk: account for account in LedgerAccount.objects.all()}
    deposits = [pk for pk, account in accounts.items() if account.kind == "DEPOSITS"]
    with localcontext(ENGINE_CONTEXT):  # sums of balances, with every digit
        issued = -sum((balances.get(pk, ZERO) for pk in deposits), ZERO)
        held = sum((balance for pk, balance in balances.items() if pk not in deposits), ZERO)
    if held != issued:
        problems.append(f"accounts hold {held} USDT but {issued} USDT was deposited")

    wallet_accounts = {
        account.user_id: account.pk for account in accounts.values() if account.kind == "WALLET"
    }
    for wallet in Wallet.objects.order_by("pk"):
        recorded = balances.get(wallet_accounts.get(wallet.user_id), ZERO)
        if wallet.balance != recorded:
            problems.append(
                f"wallet of user {wallet.user_id} shows {wallet.balance} USDT "
                f"but its ledger entries add up to {recorded} USDT"
            )
        if wallet.balance < 0:
            problems.append(f"wallet of user {wallet.user_id} is below 0: {wallet.balance} USDT")

    margin_accounts = {
        account.position_id: account.pk
        for account in accounts.values()
        if account.kind == "ISOLATED_MARGIN"
    }
    isolated = Position.objects.filter(Q(margin_mode="ISOLATED") | Q(isolated_margin__gt=0))
    for position in isolated.order_by("pk"):
        recorded = balances.get(margin_accounts.get(position.pk), ZERO)
        if position.isolated_margin != recorded:
            problems.append(
                f"position {position.pk} shows an isolated margin of {position.isolated_margin} "
                f"USDT but its ledger entries add up to {recorded} USDT"
            )
    return problems


def system_account_balance(kind: str) -> Decimal:
    """The balance of FEES, INSURANCE_FUND, HOUSE or DEPOSITS."""
    balances = _account_balances()
    with localcontext(ENGINE_CONTEXT):
        return sum(
            (balances.get(account.pk, ZERO) for account in LedgerAccount.objects.filter(kind=kind)),
            ZERO,
        )
