"""The Content-Security-Policy header, on every response Django makes.

Django 5.2 has no CSP of its own (6.0 adds ``SECURE_CSP`` and a middleware), and the policy is one
fixed header, so a small middleware does it rather than a dependency (django-csp): the policy is
the ``SECURE_CSP`` setting, a dict of directive to sources in Django 6.0's shape, so that moving
to Django's own middleware is a change of one line. Static files are served by WhiteNoise before
this middleware and carry no policy; they need none (no HTML among them).
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"


def policy(directives: dict[str, list[str]]) -> str:
    """``{"default-src": ["'self'"], ...}`` as the header's value: ``default-src 'self'; ...``."""
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


class ContentSecurityPolicyMiddleware:
    """Adds SECURE_CSP to each response that has no policy of its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        self.header = policy(settings.SECURE_CSP)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault(HEADER, self.header)
        return response
