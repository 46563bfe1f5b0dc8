"""The back office's Audit log page: who did what to what, from what to what, when and why. Read
only: the log is append-only (the model and the database refuse any change), so the page offers
no add, change or delete, to anyone."""

import json

from django.contrib import admin

from trading.admin.base import ReadOnly
from trading.models import AuditEntry


def _values(values: dict | None) -> str:
    """A before/after dict as compact JSON with sorted keys (decimals are stored as strings, so
    they show exactly); empty for none."""
    if values is None:
        return ""
    return json.dumps(values, sort_keys=True, ensure_ascii=False)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ("created_at", "who", "action", "target", "before_values", "after_values",
                    "reason")  # fmt: skip
    list_filter = ("action", ("actor", admin.RelatedOnlyFieldListFilter))
    search_fields = ("target_label", "actor_username")
    date_hierarchy = "created_at"
    fields = ("created_at", "who", "action", "target_type", "target_id", "target_label",
              "before_values", "after_values", "reason")  # fmt: skip
    readonly_fields = fields

    @admin.display(description="who", ordering="actor_username")
    def who(self, entry):
        return entry.actor_username or "system"

    @admin.display(description="target", ordering="target_label")
    def target(self, entry):
        return f"{entry.target_label} ({entry.target_type} {entry.target_id})"

    @admin.display(description="before")
    def before_values(self, entry):
        return _values(entry.before)

    @admin.display(description="after")
    def after_values(self, entry):
        return _values(entry.after)
