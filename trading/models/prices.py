from django.db import models

from trading.models.fields import price_field, rate_field
from trading.models.instruments import Instrument


class MarkPrice(models.Model):
    """The current mark price of an instrument: every PnL, margin and liquidation figure uses it."""

    class Source(models.TextChoices):
        MANUAL = "manual", "Manual"
        SIMULATED = "simulated", "Simulated"
        REPLAY = "replay", "Replay"
        LIVE = "live", "Live"
        SEED = "seed", "Seed"
        DRILL = "drill", "Drill"

    instrument = models.OneToOneField(
        Instrument, on_delete=models.CASCADE, related_name="mark_price"
    )
    price = price_field()
    source = models.CharField(max_length=10, choices=Source.choices)
    held = models.BooleanField(
        default=False,
        help_text="an operator's manual price (or a running drill's) holds until released, "
        "whatever the feed",
    )
    funding_rate = rate_field(
        null=True,
        blank=True,
        help_text="the exchange's current funding rate, when the live feed brings one "
        "(Binance's lastFundingRate); funding uses it while the mark is live",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["instrument"]
        permissions = [("move_prices", "Can set, drill and release mark prices")]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gt=0), name="mark_positive")
        ]

    def __str__(self):
        return f"{self.instrument} {self.price}"


class PriceCandle(models.Model):
    """One minute of mark prices, for charts (kept for PRICE_CANDLE_RETENTION_DAYS)."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="candles")
    opened_at = models.DateTimeField(help_text="the start of the minute (UTC)")
    open = price_field()
    high = price_field()
    low = price_field()
    close = price_field()

    class Meta:
        ordering = ["instrument", "opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "opened_at"], name="candle_unique"),
        ]

    def __str__(self):
        return f"{self.instrument} {self.opened_at:%Y-%m-%d %H:%M} {self.close}"


class FeedStatus(models.Model):
    """What the price feed last did: where prices came from, when, and its last error."""

    name = models.CharField(max_length=20, unique=True, default="marks")
    source = models.CharField(max_length=10, choices=MarkPrice.Source.choices)
    last_tick_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    replay_place = models.DateTimeField(
        null=True,
        blank=True,
        help_text="the moment of the replay file the replay feed has reached (it resumes there)",
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "feed status"

    def __str__(self):
        return f"{self.name}: {self.source}"
