from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """The trader (or operator). Custom from the first migration so that fields can be added
    later without the painful swap of a live user model."""

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
        ordering = ["username"]
