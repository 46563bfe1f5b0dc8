"""What the HTML views share: the refusal response, and the context of the panels that several
pages show (the account panel)."""

from django.shortcuts import render

from marginsite.errors import ApplicationError
from trading.selectors import account_summary


def refused(request, template: str, context: dict, error: ApplicationError):
    """Render ``template`` again with the refusal shown inline (``error``), with its 4xx status."""
    return render(request, template, {**context, "error": error}, status=error.status)


def account_panel(user) -> dict:
    """The context of templates/trading/partials/account_panel.html."""
    return {"account": account_summary(user=user)}
