"""The ledger's invariants, checked against the stored figures (``manage.py check_ledger``)."""

from decimal import Decimal, localcontext

from django.db.models import Case, F, Q, Sum, When

from trading.engine.decimals import ENGINE_CONTEXT
from trading.models import Fill, Journal, LedgerAccount, LedgerEntry, Position, Wallet
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
    - the insurance fund's kept balance equals its ledger account, and is not below 0;
    - every isolated position's margin equals its ledger account (0 once it is closed);
    - every fill's or liquidation's journal moves exactly the user's money its fills record.
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

    for fund in (account for account in accounts.values() if account.kind == "INSURANCE_FUND"):
        recorded = balances.get(fund.pk, ZERO)
        if fund.balance != recorded:
            problems.append(
                f"the insurance fund shows {fund.balance} USDT "
                f"but its ledger entries add up to {recorded} USDT"
            )
        if recorded < 0:
            problems.append(f"the insurance fund is below 0: {recorded} USDT")

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
    return problems + _journal_problems()


def _journal_problems() -> list[str]:
    """A fill's or a liquidation's journal balances against its fills: the user's money its
    entries move (into and out of the user's wallet and isolated margins, the entries of its
    positions: a cross liquidation's taking of the wallet names none) is the fills' realized
    PnL less their fees. Money moved between the user's own accounts (an isolated margin)
    nets to 0."""
    users_money = Sum(
        Case(When(destination__user__isnull=False, then=F("amount")), default=ZERO)
    ) - Sum(Case(When(source__user__isnull=False, then=F("amount")), default=ZERO))
    moved = dict(
        LedgerEntry.objects.filter(
            journal__kind__in=(
                Journal.Kind.FILL,
                Journal.Kind.LIQUIDATION,
                Journal.Kind.DELEVERAGE,
            ),
            position__isnull=False,
        )
        .values("journal_id")
        .annotate(total=users_money)
        .values_list("journal_id", "total")
    )
    recorded = dict(
        Fill.objects.filter(journal__isnull=False)
        .values("journal_id")
        .annotate(total=Sum(F("realized_pnl") - F("fee")))
        .values_list("journal_id", "total")
    )
    return [
        f"journal {journal_id} moves {moved.get(journal_id, ZERO)} USDT of its user's money but "
        f"its fills record {recorded.get(journal_id, ZERO)} USDT (realized PnL less fees)"
        for journal_id in sorted(moved.keys() | recorded.keys())
        if moved.get(journal_id, ZERO) != recorded.get(journal_id, ZERO)
    ]


def system_account_balance(kind: str) -> Decimal:
    """The balance of FEES, INSURANCE_FUND, HOUSE or DEPOSITS."""
    balances = _account_balances()
    with localcontext(ENGINE_CONTEXT):
        return sum(
            (balances.get(account.pk, ZERO) for account in LedgerAccount.objects.filter(kind=kind)),
            ZERO,
        )
