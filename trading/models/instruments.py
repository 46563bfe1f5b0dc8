"""Instruments (linear USDT perpetuals) and their leverage brackets.

An instrument's max leverage is its first bracket's; the brackets of one instrument are contiguous
tiers whose maintenance amounts follow the recurrence (checked by the engine before they are
stored).
"""

from decimal import Decimal

from django.db import models
from django.db.models import F, Q

from trading.models.choices import MarginMode, Venue
from trading.models.fields import money_field, price_field, quantity_field, rate_field


class Instrument(models.Model):
    class Status(models.TextChoices):
        TRADING = "TRADING", "Trading"
        HALTED = "HALTED", "Halted"

    symbol = models.CharField(max_length=20, unique=True)
    base_asset = models.CharField(max_length=10)
    quote_asset = models.CharField(max_length=10, default="USDT")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.TRADING)
    venue = models.CharField(
        max_length=12,
        choices=Venue.choices,
        default=Venue.BINANCE,
        help_text="Whose rules its margin and liquidation follow: the liquidation steps, fee and "
        "auto-deleveraging ranking (docs/margin.md, Venue profiles).",
    )
    tick_size = price_field()
    step_size = quantity_field()
    min_quantity = quantity_field()
    min_notional = money_field()
    max_leverage = models.PositiveSmallIntegerField()
    default_leverage = models.PositiveSmallIntegerField(default=20)
    taker_fee_rate = rate_field(default=Decimal("0.0005"))
    maker_fee_rate = rate_field(default=Decimal("0.0002"))
    liquidation_fee_rate = rate_field(default=Decimal("0.0125"))
    # The liquidity model the order book is built from around the mark (trading/engine/book.py).
    book_half_spread_ticks = models.PositiveIntegerField(
        default=1, help_text="Ticks from the mark to the best bid and to the best ask."
    )
    book_level_ticks = models.PositiveIntegerField(
        default=1, help_text="Ticks between two price levels of the book."
    )
    book_level_quantity = quantity_field(help_text="Quantity resting at each price level.")
    book_max_slippage_rate = rate_field(
        default=Decimal("0.05"),
        help_text="How far from the mark a taker may walk the book (0.05 = 5 %); what lies "
        "beyond is not filled.",
    )
    default_margin_mode = models.CharField(
        max_length=10,
        choices=MarginMode.choices,
        blank=True,
        default="",
        help_text="The mode a trader's new orders on this symbol get when the trader set no mode "
        "for the symbol; empty: the trader's own default from /settings.",
    )

    class Meta:
        ordering = ["symbol"]
        permissions = [("halt_instrument", "Can halt and resume trading in an instrument")]
        constraints = [
            models.CheckConstraint(
                condition=Q(tick_size__gt=0, step_size__gt=0, min_quantity__gt=0),
                name="instrument_steps_positive",
            ),
            models.CheckConstraint(
                condition=Q(min_notional__gte=0), name="instrument_min_notional"
            ),
            models.CheckConstraint(
                condition=Q(default_leverage__gte=1, default_leverage__lte=F("max_leverage")),
                name="instrument_default_leverage_in_range",
            ),
            models.CheckConstraint(
                condition=Q(
                    taker_fee_rate__gte=0,
                    maker_fee_rate__gte=0,
                    liquidation_fee_rate__gte=0,
                ),
                name="instrument_rates_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(
                    book_level_ticks__gte=1,
                    book_level_quantity__gt=0,
                    book_max_slippage_rate__gt=0,
                    book_max_slippage_rate__lt=1,
                ),
                name="instrument_book_valid",
            ),
        ]

    def __str__(self):
        return self.symbol


class LeverageBracket(models.Model):
    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="brackets")
    tier = models.PositiveSmallIntegerField()
    notional_floor = money_field()
    notional_cap = money_field()
    max_leverage = models.PositiveSmallIntegerField()
    maintenance_margin_rate = rate_field()
    maintenance_amount = money_field()

    class Meta:
        ordering = ["instrument", "tier"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "tier"], name="bracket_tier_unique"),
            models.CheckConstraint(
                condition=Q(notional_cap__gt=F("notional_floor"), notional_floor__gte=0),
                name="bracket_cap_above_floor",
            ),
            models.CheckConstraint(condition=Q(max_leverage__gte=1), name="bracket_leverage_min"),
            models.CheckConstraint(
                condition=Q(maintenance_margin_rate__gt=0, maintenance_margin_rate__lt=1),
                name="bracket_maintenance_rate_range",
            ),
        ]

    def __str__(self):
        return f"{self.instrument} tier {self.tier}"


class InstrumentsVersion(models.Model):
    """One row: the version of the instruments and their brackets, for the copies processes keep
    in memory (trading/selectors/instruments.py). A database trigger (migration 0017) sets it to
    a new number from a sequence, in the same transaction, on every insert, update, delete or
    truncate of either table, whoever writes (a service, the back office, a migration, a test's
    queryset update): a process that reads a version other than its copy's reloads. Numbers are
    never reused, so a rolled-back change can never pass for a later one."""

    version = models.BigIntegerField()

    def __str__(self):
        return f"instruments version {self.version}"
