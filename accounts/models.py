from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models

from trading.models.choices import MarginMode


class User(AbstractUser):
    """The trader (or operator). Custom from the first migration so that fields can be added
    later without the painful swap of a live user model."""

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        ordering = ["username"]


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
        ordering = ["user"]
        verbose_name_plural = "preferences"

    def __str__(self):
        return f"{self.user} preferences"


class ApiKey(models.Model):
    """A key a bot signs its requests with. ``key`` is public (sent in a header); the secret is
    needed to check HMAC signatures, so it is kept, but only encrypted (accounts/secrets.py) and
    shown to the user once, when the key is created. A revoked key stays for the record."""

    class Permission(models.TextChoices):
        READ_ONLY = "READ_ONLY", "Read only"
        TRADING = "TRADING", "Trading"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=50)
    key = models.CharField(max_length=64, unique=True)
    secret_encrypted = models.TextField()
    permission = models.CharField(max_length=10, choices=Permission.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.user} {self.name} ({self.get_permission_display()})"
