"""A user's settings per symbol: the leverage of each margin mode (BTCUSDT Cross 10x and
BTCUSDT Isolated 20x are independent) and the symbol's default margin mode."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from trading.models.choices import MarginMode
from trading.models.instruments import Instrument


class LeverageSetting(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="leverage_settings"
    )
    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="+")
    margin_mode = models.CharField(max_length=10, choices=MarginMode.choices)
    leverage = models.PositiveSmallIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user", "instrument", "margin_mode"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "instrument", "margin_mode"], name="leverage_setting_unique"
            ),
            models.CheckConstraint(condition=Q(leverage__gte=1), name="leverage_setting_min"),
        ]

    def __str__(self):
        return f"{self.user} {self.instrument} {self.margin_mode} {self.leverage}x"


class SymbolMarginMode(models.Model):
    """The margin mode an order on this symbol gets when it names none (the confirmation screen
    preselects it); it does not stop the user from trading the other mode."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="symbol_margin_modes"
    )
    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="+")
    margin_mode = models.CharField(max_length=10, choices=MarginMode.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user", "instrument"]
        constraints = [
            models.UniqueConstraint(fields=["user", "instrument"], name="symbol_margin_mode_unique")
        ]

    def __str__(self):
        return f"{self.user} {self.instrument} {self.margin_mode}"
