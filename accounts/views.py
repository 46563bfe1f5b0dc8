"""Sign-up (log-in, log-out and password change are Django's own views). Thin: the view reads its
form and calls ``user_create``, or renders the form again with its errors and a 4xx status. The
/settings page composes identity and trading, so it lives in trading/views/settings.py."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.forms import SignUpForm
from accounts.services import user_create
from marginsite.errors import ApplicationError

SIGNUP_TEMPLATE = "accounts/signup.html"


def _signup_render(request, form, *, status: int = 200):
    context = {"form": form, "starting_balance": settings.PAPER_STARTING_BALANCE}
    return render(request, SIGNUP_TEMPLATE, context, status=status)


@require_http_methods(["GET", "POST"])
def signup(request):
    """A signed-in user has an account already: the trade page is where they were going."""
    if request.user.is_authenticated:
        return redirect("trade_default")
    if request.method == "GET":
        return _signup_render(request, SignUpForm())
    form = SignUpForm(request.POST)
    if not form.is_valid():
        return _signup_render(request, form, status=400)
    try:
        user = user_create(
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password1"],
            email=form.cleaned_data["email"],
        )
    except ApplicationError as error:
        # the service's own check (a username taken between the form's check and the insert)
        form.add_error(error.field if error.field in form.fields else None, error.message)
        return _signup_render(request, form, status=error.status)
    login(request, user)
    # "10,000", written as the sign-up page's ``grouped`` filter writes it
    balance = format(settings.PAPER_STARTING_BALANCE.normalize(), ",f")
    messages.success(request, f"Welcome, {user.username}. Your paper wallet holds {balance} USDT.")
    return redirect("trade_default")
