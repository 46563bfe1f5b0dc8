"""What the back office's pages share: they refuse an action they did not offer; a form sent back
with its errors answers 400; and most pages only show (their rows change through services, from
actions, never from a form)."""

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


class InvalidFormsAnswer400:
    """A change form sent back with its errors answers 400 (Django's admin says 200): nothing was
    saved, and a client, a test or a monitor can tell."""

    def render_change_form(self, request, context, *args, **kwargs):
        response = super().render_change_form(request, context, *args, **kwargs)
        if request.method == "POST" and context.get("errors"):
            response.status_code = 400
        return response
