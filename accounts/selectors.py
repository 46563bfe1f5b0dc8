"""Read models of the account pages: the user's API keys (the /settings page shows them)."""

from accounts.models import ApiKey


def api_key_list(*, user) -> list[ApiKey]:
    """The user's API keys, newest first, revoked ones included (for the record)."""
    return list(ApiKey.objects.filter(user=user))
