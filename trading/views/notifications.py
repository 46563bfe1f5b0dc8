"""The liquidation banner's Dismiss button."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from trading.services import notifications_read


@login_required
@require_POST
def dismiss(request):
    notifications_read(user=request.user)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = "trade_default"
    return redirect(back)
