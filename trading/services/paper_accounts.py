"""A user's paper account: what every user gets with the account (preferences, Cross until the user
chooses otherwise, and a wallet funded with PAPER_STARTING_BALANCE through the ledger) and the
default margin mode the user chooses on /settings. The public entry points
``accounts.services.user_create`` and ``accounts.services.margin_mode_default_set`` are these, seen
from the accounts app (which holds identity only); the back office opens the account of a user it
adds with ``paper_account_open`` too."""

from django.db import transaction

from marginsite.errors import InvalidInput
from trading.models import AuditEntry, MarginMode, Preferences, Wallet
from trading.services.audit_log import audit_record
from trading.services.wallets import wallet_open


def paper_account_open(*, user) -> Wallet:
    """Open ``user``'s paper account: preferences and a funded wallet. Runs in the caller's
    transaction (user creation, or the admin's save of a new user), so a user never exists
    without them."""
    Preferences.objects.create(user=user)
    return wallet_open(user=user)


def margin_mode_default_set(*, user, margin_mode: str) -> Preferences:
    """The default margin mode on /settings: it preselects the mode of new orders; positions
    already open keep theirs. A change is recorded in the audit log."""
    if margin_mode not in MarginMode.values:
        raise InvalidInput(
            f"margin_mode must be CROSS or ISOLATED, not {margin_mode!r}.", field="margin_mode"
        )
    with transaction.atomic(durable=True):
        preferences, _ = Preferences.objects.select_for_update().get_or_create(user=user)
        before = preferences.default_margin_mode
        preferences.default_margin_mode = margin_mode
        preferences.save(update_fields=["default_margin_mode", "updated_at"])
        if before != margin_mode:
            audit_record(
                actor=user,
                action=AuditEntry.Action.DEFAULT_MARGIN_MODE_SET,
                target=user,
                before={"default_margin_mode": before},
                after={"default_margin_mode": margin_mode},
            )
        return preferences
