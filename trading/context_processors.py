"""What every page shows a signed-in trader: the banners of liquidations and of operator actions
(a force-close, a canceled order, funds granted, a reset) they have not seen yet, and the warning
when their cross margin ratio passes 80 %. Also ``return_to``, where the forms of a page send the
user back after a POST: the page itself, unless the page is a refusal shown at a POST-only
address (then the trade page; views that know better set their own)."""

import functools
from decimal import Decimal

from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from trading.models import Notification
from trading.selectors import account_summary
from trading.selectors.accounts import AccountSummary

WARNING_RATIO = Decimal("0.8")
BANNER_KINDS = (Notification.Kind.LIQUIDATION, Notification.Kind.OPERATOR)
BANNER_ROWS = 5


def cross_ratio_warning(summary: AccountSummary) -> dict:
    """``show`` when the cross margin ratio is at or past 80 %, or the cross margin balance is
    gone (ratio None) while maintenance margin is due. A view that shows the account panel
    passes it from the same summary (``views.common.account_panel``), so that the page values
    the account once."""
    ratio = summary.cross_margin_ratio
    due = summary.cross_maintenance_margin > 0
    return {"show": due and (ratio is None or ratio >= WARNING_RATIO), "ratio": ratio}


def _unread_notices(user) -> dict[str, list[Notification]]:
    """The unread banner notices by kind, newest first, up to BANNER_ROWS of each, in one
    query."""
    notices = {kind: [] for kind in BANNER_KINDS}
    unread = Notification.objects.filter(user=user, kind__in=BANNER_KINDS, read_at__isnull=True)
    for notice in unread[: BANNER_ROWS * len(BANNER_KINDS)]:
        if len(notices[notice.kind]) < BANNER_ROWS:
            notices[notice.kind].append(notice)
    return notices


def alerts(request) -> dict:
    user = request.user
    if not user.is_authenticated:
        return {}
    notices = functools.cache(lambda: _unread_notices(user))
    return {
        "return_to": (
            request.get_full_path() if request.method == "GET" else reverse("trade_default")
        ),
        "unread_liquidations": SimpleLazyObject(lambda: notices()[Notification.Kind.LIQUIDATION]),
        "operator_notices": SimpleLazyObject(lambda: notices()[Notification.Kind.OPERATOR]),
        "cross_ratio_warning": SimpleLazyObject(
            lambda: cross_ratio_warning(account_summary(user=user))
        ),
    }
