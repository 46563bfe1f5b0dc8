"""Wallets and the double-entry ledger.

Invariants (checked by ``manage.py check_ledger``): every movement of money is one LedgerEntry, a
transfer of a positive amount from one ledger account to another, written by ``ledger_post`` in
the same transaction as the change; entries are never updated or deleted. Money enters only from
the DEPOSITS account, so the balances of all other accounts add up to what was deposited. A
Wallet's balance and an isolated Position's margin are the cached balances of their ledger
accounts, and neither is ever below 0.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from trading.models.fields import money_field


class Wallet(models.Model):
    """The user's USDT: the cross wallet balance, free collateral shared by all cross positions.
    Isolated margins are not in it (they moved out when their positions opened)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wallet"
    )
    balance = money_field(default=0)
    sweep_due = models.BooleanField(
        default=True,
        help_text="Changed since the sweep last computed its positions' watch prices: the next "
        "sweep re-checks it. Set by every lock of the wallet (trading/services/locks.py).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user"]
        permissions = [
            ("grant_funds", "Can grant paper funds"),
            ("reset_account", "Can reset a paper account"),
        ]
        indexes = [
            models.Index(fields=["user"], condition=Q(sweep_due=True), name="wallet_sweep_due_idx")
        ]
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="wallet_not_negative")
        ]

    def __str__(self):
        return f"{self.user} {self.balance} USDT"


class LedgerAccount(models.Model):
    class Kind(models.TextChoices):
        WALLET = "WALLET", "User wallet"
        ISOLATED_MARGIN = "ISOLATED_MARGIN", "Isolated position margin"
        FEES = "FEES", "Fee account"
        INSURANCE_FUND = "INSURANCE_FUND", "Insurance fund"
        HOUSE = "HOUSE", "House (paper counterparty)"
        DEPOSITS = "DEPOSITS", "Deposits (paper money issued)"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    balance = money_field(
        default=0,
        help_text="Kept for the insurance fund only, whose floor of 0 is checked on it (by the "
        "liquidation, under its row lock); the other accounts' balances are summed from their "
        "entries.",
    )
    position = models.OneToOneField(
        "trading.Position",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_account",
    )

    class Meta:
        ordering = ["kind", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(user__isnull=True, position__isnull=True),
                name="ledger_system_account_unique",
            ),
            models.UniqueConstraint(
                fields=["user"], condition=Q(kind="WALLET"), name="ledger_wallet_account_unique"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="WALLET", user__isnull=False, position__isnull=True)
                    | Q(kind="ISOLATED_MARGIN", user__isnull=False, position__isnull=False)
                    | Q(
                        kind__in=["FEES", "INSURANCE_FUND", "HOUSE", "DEPOSITS"],
                        user__isnull=True,
                        position__isnull=True,
                    )
                ),
                name="ledger_account_owner_matches_kind",
            ),
            models.CheckConstraint(
                condition=~Q(kind="INSURANCE_FUND") | Q(balance__gte=0),
                name="ledger_insurance_fund_not_negative",
            ),
        ]

    def __str__(self):
        owner = self.position_id or self.user_id or ""
        return f"{self.kind} {owner}".strip()


class Journal(models.Model):
    """One event's ledger entries, grouped: a fill (its closing and opening parts), a liquidation
    (every position it closes), a funding payment, or a single movement (a deposit, margin
    added...). check_ledger checks that the entries of a fill or a liquidation add up to what its
    fills record (trading/selectors/ledger.py)."""

    class Kind(models.TextChoices):
        FILL = "FILL", "Fill"
        LIQUIDATION = "LIQUIDATION", "Liquidation"
        FUNDING = "FUNDING", "Funding payment"
        DELEVERAGE = "DELEVERAGE", "Auto-deleveraging"
        TRANSFER = "TRANSFER", "Single movement"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.kind} {self.pk}"


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        DEPOSIT = "DEPOSIT", "Paper funds granted"
        RESET = "RESET", "Paper account reset"
        FEE = "FEE", "Trading fee"
        REALIZED_PNL = "REALIZED_PNL", "Realized PnL"
        ISOLATED_MARGIN = "ISOLATED_MARGIN", "Isolated margin moved"
        INSURANCE = "INSURANCE", "Insurance fund cover"
        LIQUIDATION = "LIQUIDATION", "Liquidation"
        LIQUIDATION_FEE = "LIQUIDATION_FEE", "Liquidation fee"
        FUNDING = "FUNDING", "Funding payment"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    source = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="debits")
    destination = models.ForeignKey(LedgerAccount, on_delete=models.PROTECT, related_name="credits")
    amount = money_field()
    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, related_name="entries")
    # db_index=False: ledger_entry_user_idx (user, id) serves a lookup by user
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
        db_index=False,
    )
    position = models.ForeignKey(
        "trading.Position", null=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    order = models.ForeignKey(
        "trading.Order", null=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(
        default=timezone.now,
        editable=False,
        help_text="when the money moved; for a funding payment, its funding time (ledger_post's "
        "at), even when posted later",
    )

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = "ledger entries"
        indexes = [models.Index(fields=["user", "id"], name="ledger_entry_user_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_amount_positive"),
            models.CheckConstraint(
                condition=~Q(source=F("destination")), name="ledger_source_not_destination"
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.amount} {self.source} -> {self.destination}"
