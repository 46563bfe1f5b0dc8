"""Liquidations and what the user is told about them. A LiquidationEvent is the receipt: the mark
at the trigger, the prices, the margin figures at the trigger, the loss and the insurance fund's
change, so that anyone can check the liquidation was right. It is a record: every figure it shows
and the bracket tables they came from are written at the trigger and never change, whatever an
operator later does to the instrument."""

from django.conf import settings
from django.db import models

from trading.models.choices import MarginMode
from trading.models.fields import money_field, price_field, quantity_field
from trading.models.positions import Position


class LiquidationEvent(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="liquidations"
    )
    margin_mode = models.CharField(max_length=10, choices=MarginMode.choices)
    positions = models.ManyToManyField(Position, related_name="liquidations")
    collateral = money_field(
        default=0, help_text="at the trigger: the isolated margin, or the cross wallet (WB)"
    )
    margin_balance = money_field(help_text="at the trigger")
    maintenance_margin = money_field(help_text="at the trigger")
    loss = money_field(help_text="what the user lost (margin or cross balance)")
    insurance_fund_change = money_field(help_text="+ the fund took, - the fund paid")
    liquidation_fee = money_field(default=0, help_text="charged to the insurance fund, all steps")
    survived = models.BooleanField(
        default=False,
        help_text="The partial steps brought the positions back into margin: what is left of "
        "them is still open.",
    )
    steps = models.JSONField(
        default=list,
        help_text="each liquidation fill, in order: position, symbol, side, quantity, the mark, "
        "the price shown, the liquidation fee, the realized PnL and whether it was the last "
        "step (decimals as strings)",
    )
    deleveraged = models.JSONField(
        default=list,
        help_text="what auto-deleveraging closed of the opposite side, when the insurance fund "
        "could not cover the loss: symbol, quantity, price (no one else's name)",
    )
    details = models.JSONField(
        help_text="per position, at the trigger: symbol, side, quantity, entry, mark, uPnL, the "
        "bracket of the notional at the mark, the other cross positions' maintenance margin and "
        "uPnL, the liquidation price and the bracket it was solved in, the bankruptcy price, and "
        "the instrument's tick and step (decimals as strings, brackets as rows of floor, cap, "
        "max leverage, rate, amount)"
    )
    brackets = models.JSONField(
        help_text="symbol -> the bracket table the positions were valued with at the trigger "
        "(rows of floor, cap, max leverage, rate, amount)"
    )
    other_mode = models.JSONField(
        null=True,
        blank=True,
        help_text="what the other margin mode would have done at the trigger: its mode and, per "
        "liquidated position, its twin's liquidation price (exact and on the tick), what it "
        "put at risk, its uPnL and whether it would have been liquidated too (decimals as "
        "strings; trading/domain/twin.py). Null on receipts written before it was kept.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.user} {self.margin_mode} liquidation {self.created_at:%Y-%m-%d %H:%M:%S}"


class Deleveraging(models.Model):
    """The receipt of a position closed by auto-deleveraging: the insurance fund could not cover
    a bankrupt position on the other side, so this one, ranked first by its venue's rule, closed
    ``quantity`` at that position's bankruptcy price instead of the mark (no fee)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="deleveragings"
    )
    position = models.ForeignKey(Position, on_delete=models.PROTECT, related_name="deleveragings")
    quantity = quantity_field()
    price = price_field(help_text="the bankrupt position's bankruptcy price")
    mark_price = price_field()
    realized_pnl = money_field()
    score = models.DecimalField(
        max_digits=40, decimal_places=20, help_text="the ranking it was chosen by"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.user} ADL {self.position} {self.quantity}"


class Notification(models.Model):
    class Kind(models.TextChoices):
        LIQUIDATION = "LIQUIDATION", "Liquidation"
        DELEVERAGE = "DELEVERAGE", "Auto-deleveraging"
        ORDER_FILLED = "ORDER_FILLED", "Order filled"
        ORDER_EXPIRED = "ORDER_EXPIRED", "Order expired"
        OPERATOR = "OPERATOR", "From the operator"

    # db_index=False: notification_unread_idx (user, read_at) serves a lookup by user; a second
    # index would only cost every notice's insert
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    message = models.CharField(max_length=600)
    liquidation = models.ForeignKey(
        LiquidationEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread_idx")]

    def __str__(self):
        return f"{self.user}: {self.message}"
