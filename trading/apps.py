from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _support_group_sync(sender, **kwargs):
    from accounts.services import support_group_sync

    support_group_sync()


class TradingConfig(AppConfig):
    name = "trading"
    verbose_name = "Trading"

    def ready(self):
        from trading import checks  # noqa: F401  (registers the settings' system checks)

        # after the permissions of this (the last) app exist; the group is setup, not logic
        post_migrate.connect(_support_group_sync, sender=self)
