"""Paper money in and out of a user's wallet."""

from decimal import Decimal

from django.conf import settings
from django.db import transaction

from marginsite.errors import InvalidInput
from trading.errors import InvalidAmount, WalletResetRefused
from trading.inputs import decimal_from_input
from trading.models import LedgerAccount, LedgerEntry, Order, Position, Wallet
from trading.services.ledger import ledger_post
from trading.services.locks import wallet_lock

DEPOSITS = LedgerAccount.Kind.DEPOSITS


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


def wallet_deposit(*, user, amount, memo: str = "paper funds granted") -> LedgerEntry:
    """Grant paper funds (the operator's action)."""
    amount = decimal_from_input(amount, field="amount", error=InvalidAmount)
    if amount <= 0:
        raise InvalidAmount("A deposit must be greater than 0.", field="amount")
    if not isinstance(memo, str) or len(memo) > 200 or not memo.isprintable():
        raise InvalidInput("memo must be printable text of at most 200 characters.", field="memo")
    with transaction.atomic(durable=True):
        wallet = wallet_lock(user)
        return ledger_post(
            kind=LedgerEntry.Kind.DEPOSIT,
            amount=amount,
            source=DEPOSITS,
            destination=wallet,
            user=user,
            memo=memo,
        )


def wallet_reset(*, user) -> Wallet:
    """Back to PAPER_STARTING_BALANCE, for a fresh start; refused while anything is open, since
    open positions and orders are backed by this wallet."""
    with transaction.atomic(durable=True):
        wallet = wallet_lock(user)
        if Position.objects.filter(user=user, status=Position.Status.OPEN).exists():
            raise WalletResetRefused("Close your open positions before resetting the account.")
        if Order.objects.filter(user=user, status=Order.Status.NEW).exists():
            raise WalletResetRefused("Cancel your open orders before resetting the account.")
        reset = {"kind": LedgerEntry.Kind.RESET, "user": user, "memo": "paper account reset"}
        ledger_post(amount=wallet.balance, source=wallet, destination=DEPOSITS, **reset)
        ledger_post(
            amount=Decimal(settings.PAPER_STARTING_BALANCE),
            source=DEPOSITS,
            destination=wallet,
            **reset,
        )
        return wallet
