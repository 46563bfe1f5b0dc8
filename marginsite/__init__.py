"""marginsite: the Django project (settings, URLs, the Celery app)."""

from marginsite.celery import app as celery_app

__all__ = ["celery_app"]
