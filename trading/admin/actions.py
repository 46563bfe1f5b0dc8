"""What the back office's actions share: the reason every action asks for, the page that asks for
an action's input (an amount, a reason) between the change list and the service call, and the
answer to a refusal.

Each input page carries a one-time ``submission`` token: the same page sent twice (a double
click on "Grant paper funds") runs the action once and refuses the second with 409. Tokens are
claimed in the cache (Redis in production, shared by every web worker)."""

import hashlib
import secrets
from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.cache import cache
from django.template.response import TemplateResponse

from marginsite.errors import ApplicationError, InvalidInput
from trading.errors import AlreadySubmitted
from trading.services.audit_log import REASON_MAX, reason_checked

FORM_TEMPLATE = "admin/action_form.html"
SUBMISSION_KEPT_SECONDS = 24 * 3600


def field_checked(check, value):
    """A service's own check of an input, as a form field's error: the page asks again with the
    service's message, so the form and the service never disagree on what is valid."""
    try:
        return check(value)
    except ApplicationError as error:
        raise forms.ValidationError(error.message, code=error.code) from None


class ReasonForm(forms.Form):
    """Every action's reason: required, kept in the audit log with the change (and told to the
    trader when the change is to their account)."""

    reason = forms.CharField(
        max_length=REASON_MAX,
        widget=forms.TextInput(attrs={"size": 80}),
        help_text="Why: it is kept in the audit log with the change.",
    )

    def clean_reason(self):
        return field_checked(reason_checked, self.cleaned_data["reason"])


def action_form(modeladmin, request, queryset, *, form_class, title: str, action: str):
    """The action's input: ``(form, None)`` once the operator submitted it valid, else ``(None,
    response)``, the page that asks for it (400 with the errors when it was submitted invalid;
    nothing has changed then)."""
    submitted = "apply" in request.POST
    form = form_class(request.POST if submitted else None)
    if submitted and form.is_valid():
        if _first_submission(request.POST.get("submission", "")):
            return form, None
        refusal = AlreadySubmitted(
            "This form was already submitted, and the action ran once. Check the list before "
            "doing it again."
        )
        return None, action_refused(
            modeladmin, request, queryset, refusal, title=title, action=action
        )
    status = 400 if submitted else 200
    page = _page(
        modeladmin, request, queryset, form=form, title=title, action=action, status=status
    )
    return None, page


def action_run(
    modeladmin,
    request,
    queryset,
    *,
    title: str,
    action: str,
    run: Callable,
    form_class=ReasonForm,
    one: str | None = None,
):
    """An action from start to end: the input page, then ``run(obj, cleaned_data)`` (one service
    call, each its own transaction; it returns the success message) for each selected row in
    turn, each done one also in the admin's log (the index's "Recent actions"; the audit log,
    written by the service, stays the record). A refusal stops there: the page shows it with its
    status, after the messages of the rows already done. ``one``: the action takes a single row
    (each needs its own reason), and ``one`` is the message refusing a selection of several."""
    if one is not None and queryset.count() != 1:
        refusal = InvalidInput(one)
        return action_refused(modeladmin, request, queryset, refusal, title=title, action=action)
    form, page = action_form(
        modeladmin, request, queryset, form_class=form_class, title=title, action=action
    )
    if page is not None:
        return page
    for obj in queryset.order_by("pk"):
        try:
            done = run(obj, form.cleaned_data)
        except ApplicationError as refusal:
            return action_refused(
                modeladmin, request, queryset, refusal, title=title, action=action
            )
        obj.refresh_from_db()  # the log names the row as the action left it
        modeladmin.log_change(request, obj, done)
        modeladmin.message_user(request, done, messages.SUCCESS)
    return None


def action_refused(modeladmin, request, queryset, error: ApplicationError, *, title, action):
    """A service refused the action: the page again, with the refusal's message and its 4xx
    status (the service changed nothing)."""
    messages.error(request, error.message)
    return _page(
        modeladmin, request, queryset, form=None, title=title, action=action, status=error.status
    )


def _first_submission(token: str) -> bool:
    """Claim the page's one-time token; False if it was claimed before. A request without one
    (a script, a test) is not protected, and not refused."""
    if not token:
        return True
    key = "backoffice:submission:" + hashlib.sha256(token.encode()).hexdigest()
    return cache.add(key, True, timeout=SUBMISSION_KEPT_SECONDS)


def _page(modeladmin, request, queryset, *, form, title, action, status):
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "form": form,
        "queryset": queryset,
        "action": action,
        "opts": opts,
        "app_label": opts.app_label,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "submission": secrets.token_urlsafe(24),
    }
    return TemplateResponse(request, FORM_TEMPLATE, context, status=status)
