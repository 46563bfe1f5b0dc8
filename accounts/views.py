"""Account pages: sign-up and /settings. (Being written.)"""

from django.http import Http404


def signup(request):
    raise Http404


def settings_page(request):
    raise Http404


def default_mode_update(request):
    raise Http404


def symbol_mode_update(request):
    raise Http404


def leverage_update(request):
    raise Http404


def account_reset(request):
    raise Http404
