"""The Celery app: configured from Django settings (the CELERY_* names), tasks found per app, and
its worker's database connections kept in their pool between tasks
(marginsite/celery_connections.py)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marginsite.settings")

app = Celery("marginsite", fixups=["marginsite.celery_connections:fixup"])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
