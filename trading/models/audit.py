"""The audit log: who changed what, from what to what, and when.

Append-only. Every operator action in the back office and every change a user makes to their
default margin mode, a symbol's margin mode or a leverage writes one AuditEntry through
``audit_record`` (trading/services/audit_log.py), in the transaction of the change it records.
Entries are never updated or deleted: the admin offers no way, the model refuses it, and so does
the database, whatever code asks: PostgreSQL refuses UPDATE and DELETE of a row (a trigger added
by the migration that creates the table).
"""

from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        DEFAULT_MARGIN_MODE_SET = "DEFAULT_MARGIN_MODE_SET", "Default margin mode changed"
        SYMBOL_MARGIN_MODE_SET = "SYMBOL_MARGIN_MODE_SET", "Symbol margin mode changed"
        LEVERAGE_SET = "LEVERAGE_SET", "Leverage changed"
        FUNDS_GRANTED = "FUNDS_GRANTED", "Paper funds granted"
        ACCOUNT_RESET = "ACCOUNT_RESET", "Paper account reset"
        USER_CREATED = "USER_CREATED", "User created"
        USER_CHANGED = "USER_CHANGED", "User changed"
        USER_DEACTIVATED = "USER_DEACTIVATED", "User deactivated"
        GROUP_CREATED = "GROUP_CREATED", "Group created"
        GROUP_CHANGED = "GROUP_CHANGED", "Group changed"
        POSITION_FORCE_CLOSED = "POSITION_FORCE_CLOSED", "Position force-closed"
        ORDER_CANCELED = "ORDER_CANCELED", "Order canceled by the operator"
        INSTRUMENT_CREATED = "INSTRUMENT_CREATED", "Instrument created"
        INSTRUMENT_CHANGED = "INSTRUMENT_CHANGED", "Instrument changed"
        TRADING_HALTED = "TRADING_HALTED", "Trading halted"
        TRADING_RESUMED = "TRADING_RESUMED", "Trading resumed"
        MARK_PRICE_SET = "MARK_PRICE_SET", "Mark price set"
        MARK_PRICE_RELEASED = "MARK_PRICE_RELEASED", "Mark price released"
        PRICE_DRILL_STARTED = "PRICE_DRILL_STARTED", "Price drill started"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="who did it (empty: the system)",
    )
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=40, choices=Action.choices)
    target_type = models.CharField(max_length=40, help_text="the kind of thing changed")
    target_id = models.CharField(max_length=40, blank=True)
    target_label = models.CharField(max_length=200, help_text="what it was, in words")
    before = models.JSONField(null=True, blank=True, help_text="decimals as strings")
    after = models.JSONField(null=True, blank=True, help_text="decimals as strings")
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "audit log"
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target_idx")]

    def __str__(self):
        return f"{self.actor_username or 'system'}: {self.get_action_display()} {self.target_label}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("the audit log is append-only: an entry is never changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("the audit log is append-only: an entry is never deleted")
