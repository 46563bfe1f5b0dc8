"""A user's trading preferences: the default margin mode chosen on /settings. The table keeps the
name it had when the model lived in the accounts app (moved in state only, no data moved)."""

from django.conf import settings
from django.db import models

from trading.models.choices import MarginMode


class Preferences(models.Model):
    """What a user chose on /settings. ``default_margin_mode`` preselects the margin mode of a new
    order (after the symbol's own default, if the user set one)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences"
    )
    default_margin_mode = models.CharField(
        max_length=10, choices=MarginMode.choices, default=MarginMode.CROSS
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "accounts_preferences"
        ordering = ["user"]
        verbose_name_plural = "preferences"

    def __str__(self):
        return f"{self.user} preferences"
