"""The Dismiss buttons of the banners: the liquidations' (the default) and the operator's."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from trading.context_processors import BANNER_KINDS
from trading.models import Notification
from trading.services import notifications_read


@login_required
@require_POST
def dismiss(request):
    kind = request.POST.get("kind", Notification.Kind.LIQUIDATION)
    if kind not in BANNER_KINDS:
        # the kind sent is not echoed: this answer is HTML, and the kinds are few
        return HttpResponseBadRequest(
            f"Unknown kind of notice: send one of {', '.join(BANNER_KINDS)}.",
            content_type="text/plain; charset=utf-8",
        )
    notifications_read(user=request.user, kind=kind)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = "trade_default"
    return redirect(back)
