"""The trade page's leverage form (/trade/<SYMBOL>/leverage/): post/redirect/get, so a reload of
the page it lands on never sends the form again. Set or refused, it answers 303 to the trade page
of the symbol, in the form's mode, with the outcome as a message (a refusal changed nothing)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.urls import reverse
from django.views.decorators.http import require_POST

from marginsite.errors import ApplicationError
from trading.models import MarginMode
from trading.selectors import instrument_get
from trading.services import leverage_set
from trading.views.common import see_other


@login_required
@require_POST
def leverage_update(request, symbol):
    try:
        instrument = instrument_get(symbol)
    except ApplicationError:
        raise Http404(f"No instrument {symbol!r}.") from None
    mode = request.POST.get("margin_mode", "")
    try:
        setting = leverage_set(
            user=request.user,
            symbol=instrument.symbol,
            margin_mode=mode,
            leverage=request.POST.get("leverage", ""),
        )
    except ApplicationError as error:
        label = MarginMode(mode).label if mode in MarginMode.values else mode
        messages.error(request, f"{instrument.symbol} {label} leverage: {error.message}")
    else:
        messages.success(
            request,
            f"{instrument.symbol} {setting.get_margin_mode_display()} leverage set to "
            f"{setting.leverage}x.",
        )
    page = reverse("trade", args=[instrument.symbol])
    if mode in MarginMode.values:
        page = f"{page}?{urlencode({'margin_mode': mode})}"
    return see_other(page)
