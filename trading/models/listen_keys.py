"""The listen keys of Binance's user data streams (trading/binance/streams/): a bot asks for one
with its API key, opens its stream with it, and keeps it alive. One per API key, as on Binance:
asking again while it is valid returns the same key for another 60 minutes."""

from django.db import models


class ListenKey(models.Model):
    key = models.CharField(max_length=64, unique=True)
    api_key = models.OneToOneField(
        "accounts.ApiKey", on_delete=models.CASCADE, related_name="listen_key"
    )
    expires_at = models.DateTimeField(help_text="60 minutes after it was opened or last kept alive")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.api_key} until {self.expires_at:%Y-%m-%d %H:%M}"
