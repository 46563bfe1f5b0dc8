from django.core.management.base import BaseCommand

from trading.services import market_seed


class Command(BaseCommand):
    help = "Create the demo market (BTCUSDT, ETHUSDT, SOLUSDT with leverage brackets) if missing."

    def handle(self, *args, **options):
        created = market_seed()
        if created:
            self.stdout.write(self.style.SUCCESS(f"Created instruments: {', '.join(created)}"))
        else:
            self.stdout.write("Demo market already loaded; nothing changed.")
