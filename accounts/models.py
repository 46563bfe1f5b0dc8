from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """The trader (or operator). Custom from the first migration so that fields can be added
    later without the painful swap of a live user model."""

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        ordering = ["username"]


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
