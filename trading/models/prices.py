from django.db import models

from trading.models.fields import price_field
from trading.models.instruments import Instrument


class MarkPrice(models.Model):
    """The current mark price of an instrument: every PnL, margin and liquidation figure uses it."""

    class Source(models.TextChoices):
        MANUAL = "manual", "Manual"
        SIMULATED = "simulated", "Simulated"
        REPLAY = "replay", "Replay"
        LIVE = "live", "Live"
        SEED = "seed", "Seed"

    instrument = models.OneToOneField(
        Instrument, on_delete=models.CASCADE, related_name="mark_price"
    )
    price = price_field()
    source = models.CharField(max_length=10, choices=Source.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["instrument"]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gt=0), name="mark_positive")
        ]

    def __str__(self):
        return f"{self.instrument} {self.price}"
