"""What every back office page shares: it refuses an action it did not offer, and most pages only
show (their rows change through services, from actions, never from a form)."""

from django.core.exceptions import PermissionDenied


class RefusesUnofferedActions:
    """An action this operator is not offered (a forged or stale form, support trying an
    operator's action) is refused with 403, rather than silently ignored as Django does."""

    def changelist_view(self, request, extra_context=None):
        if request.method == "POST":
            offered = self.get_actions(request)
            if any(name and name not in offered for name in request.POST.getlist("action")):
                raise PermissionDenied
        return super().changelist_view(request, extra_context)


class ReadOnly:
    """No add, change or delete page: the rows are a record (the ledger, the audit log) or move
    only through services (positions, orders, prices)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
