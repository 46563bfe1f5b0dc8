"""What the HTML views share: the refusal response, the answer to a form that redirects, and the
context of the panels that several pages show (the account panel)."""

from django.http import HttpResponseRedirect
from django.shortcuts import render

from marginsite.errors import ApplicationError
from trading.context_processors import cross_ratio_warning
from trading.selectors import account_summary
from trading.selectors.accounts import AccountSummary


def refused(request, template: str, context: dict, error: ApplicationError):
    """Render ``template`` again with the refusal shown inline (``error``), with its 4xx status."""
    return render(request, template, {**context, "error": error}, status=error.status)


def see_other(url: str) -> HttpResponseRedirect:
    """303 See Other to ``url``: a form's answer (post/redirect/get), so that a reload of the
    page it lands on reads the page again instead of sending the form again."""
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


def account_panel(user) -> dict:
    """The context of templates/trading/partials/account_panel.html, and the banners' cross
    ratio warning from the same figures."""
    return account_panel_of(account_summary(user=user))


def account_panel_of(summary: AccountSummary) -> dict:
    """``account_panel`` of figures already read."""
    return {"account": summary, "cross_ratio_warning": cross_ratio_warning(summary)}
