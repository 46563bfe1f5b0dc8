"""What the back office does to users and groups, apart from their money (wallets.py): deactivate
a user, and record what Django's user and group forms saved. Both write the audit log in the
transaction of the change, so the log never shows a change that did not happen."""

from django.db import transaction

from accounts.errors import DeactivationRefused, UserAlreadyInactive
from accounts.models import User
from trading.models import AuditEntry
from trading.services.audit_log import audit_record, operator_permitted, reason_checked

FORM_ACTIONS = {
    "user": (AuditEntry.Action.USER_CREATED, AuditEntry.Action.USER_CHANGED),
    "group": (AuditEntry.Action.GROUP_CREATED, AuditEntry.Action.GROUP_CHANGED),
}


def admin_form_audit(*, operator, target, before: dict | None, after: dict) -> AuditEntry | None:
    """Record what a back office form did to ``target`` (a user or a group; ``before``/``after``:
    the audited fields, e.g. is_active, groups, permissions; never a password): created, with its
    fields (``before`` None), else changed, with just the fields that changed, or nothing if none
    did. The admin saves the form in its own transaction; this runs inside it."""
    created, changed_action = FORM_ACTIONS[target._meta.model_name]
    if before is None:
        return audit_record(actor=operator, action=created, target=target, after=after)
    changed = [name for name, value in after.items() if before.get(name) != value]
    if not changed:
        return None
    return audit_record(
        actor=operator,
        action=changed_action,
        target=target,
        before={name: before.get(name) for name in changed},
        after={name: after[name] for name in changed},
    )


def user_deactivate(*, operator, user, reason: str) -> User:
    """The operator closes ``user``'s way in: the site, the native API and the Binance facade all
    refuse an inactive user (their session ends; their keys stop signing). Nothing else changes:
    open positions and orders stay and are still watched by the sweep. Refused for oneself, for a
    superuser unless the operator is one, and for a user already inactive."""
    operator_permitted(operator, "accounts.change_user", what="deactivate users")
    reason = reason_checked(reason)
    if operator.pk == user.pk:
        raise DeactivationRefused("You cannot deactivate yourself.", field="user")
    with transaction.atomic(durable=True):
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.is_superuser and not operator.is_superuser:
            raise DeactivationRefused(
                f"Only a superuser may deactivate the superuser {user.get_username()}.",
                field="user",
            )
        if not user.is_active:
            raise UserAlreadyInactive(
                f"The user {user.get_username()} is already inactive.", field="user"
            )
        user.is_active = False
        user.save(update_fields=["is_active"])
        audit_record(
            actor=operator,
            action=AuditEntry.Action.USER_DEACTIVATED,
            target=user,
            before={"is_active": True},
            after={"is_active": False},
            reason=reason,
        )
        return user
