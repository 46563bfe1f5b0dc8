"""What every operator action shares: the permission it needs (``operator_permitted``; the back
office checks it too, but a service never trusts its caller for it), the reason it gives
(``reason_checked``) and ``audit_record``, the one writer of the audit log (see
trading/models/audit.py). ``audit_record`` runs inside the transaction of the change it records,
so a change that is rolled back leaves no entry and an entry never describes a change that did
not happen."""

from decimal import Decimal

from django.db import connection

from marginsite.errors import InvalidInput
from trading.errors import OperatorNotPermitted
from trading.models import AuditEntry

REASON_MAX = AuditEntry._meta.get_field("reason").max_length


def operator_permitted(operator, permission: str, *, what: str) -> None:
    """Refuse (403) unless ``operator`` holds ``permission`` ("trading.grant_funds"); ``what``
    completes "You are not allowed to ..."."""
    if operator is None or not operator.has_perm(permission):
        raise OperatorNotPermitted(f"You are not allowed to {what}.")


def reason_checked(reason) -> str:
    """An operator's reason: printable text, 1 to 300 characters once trimmed."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("Give a reason: it goes in the audit log.", field="reason")
    reason = reason.strip()
    if len(reason) > REASON_MAX or not reason.isprintable():
        raise InvalidInput(
            f"A reason is printable text of at most {REASON_MAX} characters.", field="reason"
        )
    return reason


def _plain(value):
    """``value`` as JSON stores it exactly: decimals as strings, never floats."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def audit_record(
    *,
    actor,
    action: AuditEntry.Action,
    target,
    before: dict | None = None,
    after: dict | None = None,
    reason: str = "",
    label: str | None = None,
) -> AuditEntry:
    """Record that ``actor`` (a user; None: the system) did ``action`` to ``target`` (a model
    instance), changing ``before`` into ``after``. ``label`` names the target in words when its
    own ``str`` does not (default: ``str(target)``)."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit_record must run inside the transaction of the change it records")
    return AuditEntry.objects.create(
        actor=actor,
        actor_username=actor.get_username() if actor is not None else "",
        action=action,
        target_type=target._meta.label,
        target_id=str(target.pk),
        target_label=(label if label is not None else str(target))[:200],
        before=_plain(before),
        after=_plain(after),
        reason=reason,
    )
