"""/settings: the trading settings (the default margin mode, each symbol's default mode and
leverage per mode, the paper account's reset) and the user's API keys, on one page. The page lives
in trading because it composes both apps (trading may import accounts, never the reverse); the API
keys' rules stay in accounts.services.

Thin: each view reads its form, calls one service and redirects with a message, or renders the
page again with the refusal next to the form that was refused and its 4xx status. The leverage
form redirects (303) either way, post/redirect/get, its refusal kept in the session for the page's
next read, so that a reload never sends it again. Services refuse before they write, so a refused
form changed nothing. Each form posts to its own view, so the page works without JavaScript."""

from dataclasses import asdict, dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.models import ApiKey
from accounts.selectors import api_key_list
from accounts.services import NewApiKey, api_key_create, api_key_revoke
from marginsite.errors import ApplicationError
from trading.forms import AccountResetForm, LeverageForm, PreferencesForm, SymbolMarginModeForm
from trading.models import MarginMode
from trading.money import usdt
from trading.selectors.settings_page import account_settings
from trading.services import (
    leverage_set,
    symbol_margin_mode_clear,
    symbol_margin_mode_set,
    wallet_reset,
)
from trading.services.paper_accounts import margin_mode_default_set
from trading.views.common import see_other

SETTINGS_TEMPLATE = "trading/settings.html"
# The session key of a refusal shown by the page's next read (the leverage form's).
REFUSAL_KEY = "settings_refusal"


@dataclass(frozen=True)
class Refusal:
    """Which /settings form was refused (``form``; for a per-symbol form, its ``symbol`` and
    ``margin_mode`` as posted) and why, so the page shows the message next to that form."""

    form: str
    message: str
    symbol: str = ""
    margin_mode: str = ""


def _settings_render(
    request, *, refusal: Refusal | None = None, status: int = 200, new_key: NewApiKey | None = None
):
    context = {
        "account_settings": account_settings(user=request.user),
        "margin_modes": MarginMode.choices,
        "starting_balance": settings.PAPER_STARTING_BALANCE,
        "refusal": refusal,
        "api_keys": api_key_list(user=request.user),
        "api_key_permissions": ApiKey.Permission.choices,
        "new_key": new_key,
    }
    return render(request, SETTINGS_TEMPLATE, context, status=status)


def _refusal(form_name: str, form, error: ApplicationError | None) -> Refusal:
    """The refusal of ``form``: the service's ``error``, else the form's own errors."""
    if error is None:
        message = " ".join(message for errors in form.errors.values() for message in errors)
    else:
        message = error.message
    return Refusal(
        form=form_name,
        message=message,
        symbol=form.data.get("symbol", ""),
        margin_mode=form.data.get("margin_mode", ""),
    )


def _refused(request, form_name: str, form, *, error: ApplicationError | None = None):
    """The page again with the refusal next to its form, and its 4xx status."""
    refusal = _refusal(form_name, form, error)
    return _settings_render(request, refusal=refusal, status=400 if error is None else error.status)


def _refused_then_shown(request, form_name: str, form, *, error=None):
    """303 to the page, which shows the refusal next to its form once (post/redirect/get; the
    browser keeps the form action's #fragment)."""
    request.session[REFUSAL_KEY] = asdict(_refusal(form_name, form, error))
    return see_other(reverse("settings"))


@login_required
@require_GET
def settings_page(request):
    refusal = request.session.pop(REFUSAL_KEY, None)
    return _settings_render(request, refusal=refusal and Refusal(**refusal))


@login_required
@require_POST
def default_mode_update(request):
    form = PreferencesForm(request.POST)
    if not form.is_valid():
        return _refused(request, "default_mode", form)
    try:
        preferences = margin_mode_default_set(
            user=request.user, margin_mode=form.cleaned_data["default_margin_mode"]
        )
    except ApplicationError as error:
        return _refused(request, "default_mode", form, error=error)
    messages.success(
        request,
        f"Your default margin mode is now {preferences.get_default_margin_mode_display()}. "
        "Open positions keep their mode.",
    )
    return redirect("settings")


@login_required
@require_POST
def symbol_mode_update(request):
    form = SymbolMarginModeForm(request.POST)
    if not form.is_valid():
        return _refused(request, "symbol_mode", form)
    symbol, margin_mode = form.cleaned_data["symbol"], form.cleaned_data["margin_mode"]
    try:
        if margin_mode == SymbolMarginModeForm.FOLLOW_DEFAULT:
            followed = symbol_margin_mode_clear(user=request.user, symbol=symbol)
            done = f"{symbol.upper()} follows the default again: new orders default to "
            done += f"{MarginMode(followed).label}."
        else:
            setting = symbol_margin_mode_set(
                user=request.user, symbol=symbol, margin_mode=margin_mode
            )
            done = (
                f"New {setting.instrument.symbol} orders now default to "
                f"{setting.get_margin_mode_display()}."
            )
    except ApplicationError as error:
        return _refused(request, "symbol_mode", form, error=error)
    messages.success(request, done)
    return redirect("settings")


@login_required
@require_POST
def leverage_update(request):
    form = LeverageForm(request.POST)
    if not form.is_valid():
        return _refused_then_shown(request, "leverage", form)
    try:
        setting = leverage_set(
            user=request.user,
            symbol=form.cleaned_data["symbol"],
            margin_mode=form.cleaned_data["margin_mode"],
            leverage=form.cleaned_data["leverage"],
        )
    except ApplicationError as error:
        return _refused_then_shown(request, "leverage", form, error=error)
    messages.success(
        request,
        f"{setting.instrument.symbol} {setting.get_margin_mode_display()} leverage is now "
        f"{setting.leverage}x.",
    )
    return see_other(reverse("settings"))


@login_required
@require_POST
def account_reset(request):
    form = AccountResetForm(request.POST)
    if not form.is_valid():
        return _refused(request, "reset", form)
    try:
        wallet = wallet_reset(user=request.user)
    except ApplicationError as error:
        return _refused(request, "reset", form, error=error)
    messages.success(
        request, f"Your paper account was reset: your wallet holds {usdt(wallet.balance)} USDT."
    )
    return redirect("settings")


@login_required
@require_POST
def api_key_add(request):
    """The new key's secret is in this one response only (never in a redirect, a message or a
    log): the page says to copy it now."""
    try:
        new_key = api_key_create(
            user=request.user,
            name=request.POST.get("name", ""),
            permission=request.POST.get("permission", ""),
        )
    except ApplicationError as error:
        refusal = Refusal(form="api_keys", message=error.message)
        return _settings_render(request, refusal=refusal, status=error.status)
    response = _settings_render(request, status=201, new_key=new_key)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def api_key_remove(request, key_id):
    try:
        api_key = api_key_revoke(user=request.user, key_id=key_id)
    except ApplicationError as error:
        refusal = Refusal(form="api_keys", message=error.message)
        return _settings_render(request, refusal=refusal, status=error.status)
    messages.success(request, f"The API key {api_key.name!r} is revoked.")
    return redirect(f"{reverse('settings')}#api-keys")
