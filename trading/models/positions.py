"""Positions. Key (user, instrument, margin_mode): at most one OPEN position per key, so a user may
hold a cross and an isolated position on one symbol at once, each with its own margin and
liquidation price. The margin mode of a position never changes."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from trading.models.choices import MarginMode, PositionSide
from trading.models.fields import money_field, price_field, quantity_field
from trading.models.instruments import Instrument


class Position(models.Model):
    class Status(models.TextChoices):
        OPEN = "OPEN", "Open"
        CLOSED = "CLOSED", "Closed"
        LIQUIDATED = "LIQUIDATED", "Liquidated"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="positions"
    )
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="positions")
    margin_mode = models.CharField(max_length=10, choices=MarginMode.choices)
    side = models.CharField(max_length=5, choices=PositionSide.choices)
    quantity = quantity_field(help_text="0 once closed")
    entry_price = price_field()
    leverage = models.PositiveSmallIntegerField()
    isolated_margin = money_field(default=0)
    realized_pnl = money_field(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    liquidation_cooldown_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="After a partial liquidation on a venue with a cooldown (Hyperliquid): until "
        "then, a liquidation of this position closes it whole.",
    )
    watch_price = price_field(
        null=True,
        blank=True,
        help_text="The sweep re-checks the account once the mark reaches this price (at or below "
        "for a long, at or above for a short); empty until first computed "
        "(trading/engine/watch.py).",
    )

    class Meta:
        ordering = ["-opened_at", "-pk"]
        permissions = [("force_close_position", "Can force-close a position at market")]
        indexes = [
            models.Index(
                fields=["instrument", "side", "watch_price"],
                condition=Q(status="OPEN"),
                name="position_open_watch_idx",
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "instrument", "margin_mode"],
                condition=Q(status="OPEN"),
                name="position_one_open_per_key",
            ),
            models.CheckConstraint(
                condition=Q(status="OPEN", quantity__gt=0) | (~Q(status="OPEN") & Q(quantity=0)),
                name="position_quantity_positive_while_open",
            ),
            models.CheckConstraint(condition=Q(entry_price__gt=0), name="position_entry_positive"),
            models.CheckConstraint(condition=Q(leverage__gte=1), name="position_leverage_min"),
            models.CheckConstraint(
                condition=Q(isolated_margin__gte=0), name="position_isolated_margin_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(margin_mode="ISOLATED") | Q(isolated_margin=0),
                name="position_cross_has_no_isolated_margin",
            ),
        ]

    def __str__(self):
        return f"{self.instrument} {self.margin_mode} {self.side} {self.quantity}"
