"""Paper money in and out of a user's wallet: the user's own reset, and the operator's grants and
resets from the back office (each also written to the audit log, in the same transaction)."""

from decimal import Decimal

from django.conf import settings
from django.db import transaction

from marginsite.errors import InvalidInput
from trading.errors import InvalidAmount, NoWallet, WalletResetRefused
from trading.inputs import decimal_from_input
from trading.models import AuditEntry, LedgerAccount, LedgerEntry, Order, Position, Wallet
from trading.money import usdt
from trading.services.audit_log import audit_record, operator_permitted, reason_checked
from trading.services.ledger import ledger_post
from trading.services.locks import insurance_fund_lock, wallet_lock
from trading.services.notifications import operator_notice

DEPOSITS = LedgerAccount.Kind.DEPOSITS
MEMO_MAX = LedgerEntry._meta.get_field("memo").max_length


def wallet_open(*, user) -> Wallet:
    """A new user's wallet, funded with PAPER_STARTING_BALANCE (inside the caller's
    transaction, so a user never exists without it)."""
    wallet = Wallet.objects.create(user=user)
    ledger_post(
        kind=LedgerEntry.Kind.DEPOSIT,
        amount=settings.PAPER_STARTING_BALANCE,
        source=DEPOSITS,
        destination=wallet,
        user=user,
        memo="starting balance",
    )
    return wallet


def deposit_amount_checked(amount) -> Decimal:
    """A deposit's amount: a number (never a float) above 0, with at most 8 decimals and below
    10^15 USDT (trading/inputs.py), so that it fits the money columns."""
    amount = decimal_from_input(amount, field="amount", error=InvalidAmount)
    if amount <= 0:
        raise InvalidAmount("A deposit must be greater than 0.", field="amount")
    return amount


def _paper_account_checked(user) -> None:
    if not Wallet.objects.filter(user=user).exists():
        raise NoWallet(
            f"{user.get_username()} has no paper account (the user was made outside marginsite, "
            "e.g. by manage.py createsuperuser).",
            field="user",
        )


def _deposit(*, user, amount: Decimal, memo: str) -> tuple[Wallet, Decimal, LedgerEntry]:
    """Post the deposit inside the caller's transaction: (the locked wallet, its balance before,
    the entry)."""
    wallet = wallet_lock(user)
    before = wallet.balance
    entry = ledger_post(
        kind=LedgerEntry.Kind.DEPOSIT,
        amount=amount,
        source=DEPOSITS,
        destination=wallet,
        user=user,
        memo=memo,
    )
    return wallet, before, entry


def wallet_deposit(*, user, amount, memo: str = "paper funds granted") -> LedgerEntry:
    """Grant paper funds (without an audit entry: the operator's action is ``wallet_grant``)."""
    amount = deposit_amount_checked(amount)
    if not isinstance(memo, str) or len(memo) > MEMO_MAX or not memo.isprintable():
        raise InvalidInput("memo must be printable text of at most 200 characters.", field="memo")
    with transaction.atomic(durable=True):
        return _deposit(user=user, amount=amount, memo=memo)[2]


def wallet_grant(*, operator, user, amount, reason: str) -> LedgerEntry:
    """The operator grants ``user`` paper funds: a DEPOSIT into their wallet whose memo carries
    the reason (the trader sees it in their ledger), and a FUNDS_GRANTED audit entry with the
    balance before and after, in one transaction."""
    operator_permitted(operator, "trading.grant_funds", what="grant paper funds")
    amount = deposit_amount_checked(amount)
    reason = reason_checked(reason)
    _paper_account_checked(user)
    memo = f"paper funds granted: {reason}"[:MEMO_MAX]
    with transaction.atomic(durable=True):
        wallet, before, entry = _deposit(user=user, amount=amount, memo=memo)
        audit_record(
            actor=operator,
            action=AuditEntry.Action.FUNDS_GRANTED,
            target=user,
            before={"balance": before},
            after={"balance": wallet.balance, "granted": amount},
            reason=reason,
        )
        operator_notice(
            user=user,
            message=f"An operator granted you {usdt(amount)} USDT of paper funds. Reason: {reason}",
        )
        return entry


def _reset_blocker(user) -> str | None:
    """What keeps the account from a reset: "positions" or "orders" still open (they are backed by
    the wallet), else None. The caller holds the wallet's lock, which every change of them takes
    first."""
    if Position.objects.filter(user=user, status=Position.Status.OPEN).exists():
        return "positions"
    if Order.objects.filter(user=user, status=Order.Status.NEW).exists():
        return "orders"
    return None


def _reset(wallet: Wallet, *, user, memo: str) -> None:
    """Everything in the wallet back to DEPOSITS, then PAPER_STARTING_BALANCE out again."""
    reset = {"kind": LedgerEntry.Kind.RESET, "user": user, "memo": memo}
    ledger_post(amount=wallet.balance, source=wallet, destination=DEPOSITS, **reset)
    ledger_post(
        amount=Decimal(settings.PAPER_STARTING_BALANCE),
        source=DEPOSITS,
        destination=wallet,
        **reset,
    )


def wallet_reset(*, user) -> Wallet:
    """Back to PAPER_STARTING_BALANCE, for a fresh start; refused while anything is open, since
    open positions and orders are backed by this wallet."""
    with transaction.atomic(durable=True):
        wallet = wallet_lock(user)
        blocker = _reset_blocker(user)
        if blocker == "positions":
            raise WalletResetRefused("Close your open positions before resetting the account.")
        if blocker == "orders":
            raise WalletResetRefused("Cancel your open orders before resetting the account.")
        _reset(wallet, user=user, memo="paper account reset")
        return wallet


def account_reset(*, operator, user, reason: str) -> Wallet:
    """The operator resets ``user``'s paper account to PAPER_STARTING_BALANCE, with the rules of
    ``wallet_reset`` (refused while a position or an order is open: the operator force-closes or
    cancels them first), and an ACCOUNT_RESET audit entry with the balance before and after."""
    operator_permitted(operator, "trading.reset_account", what="reset paper accounts")
    reason = reason_checked(reason)
    _paper_account_checked(user)
    with transaction.atomic(durable=True):
        wallet = wallet_lock(user)
        blocker = _reset_blocker(user)
        if blocker == "positions":
            raise WalletResetRefused(
                f"Cannot reset {user.get_username()}'s paper account while a position is open: "
                "force-close it on the Positions page first."
            )
        if blocker == "orders":
            raise WalletResetRefused(
                f"Cannot reset {user.get_username()}'s paper account while an order is open: "
                "cancel it on the Orders page first."
            )
        before = wallet.balance
        _reset(wallet, user=user, memo="paper account reset by the operator")
        audit_record(
            actor=operator,
            action=AuditEntry.Action.ACCOUNT_RESET,
            target=user,
            before={"balance": before},
            after={"balance": wallet.balance},
            reason=reason,
        )
        operator_notice(
            user=user,
            message=f"An operator reset your paper account to {usdt(wallet.balance)} USDT. "
            f"Reason: {reason}",
        )
        return wallet


def insurance_fund_grant(*, amount, memo: str = "insurance fund capital") -> LedgerEntry:
    """Give the insurance fund paper money (issued from DEPOSITS, as a trader's deposit is), so
    that it can cover bankrupt positions before auto-deleveraging must: ``seed_market`` gives it
    its starting capital (``INSURANCE_FUND_CAPITAL``)."""
    amount = deposit_amount_checked(amount)
    with transaction.atomic(durable=True):
        insurance_fund_lock()
        return ledger_post(
            kind=LedgerEntry.Kind.DEPOSIT,
            amount=amount,
            source=LedgerAccount.Kind.DEPOSITS,
            destination=LedgerAccount.Kind.INSURANCE_FUND,
            memo=memo,
        )
