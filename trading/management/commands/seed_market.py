from django.conf import settings
from django.core.management.base import BaseCommand

from trading.models import LedgerEntry
from trading.services import insurance_fund_grant, market_seed

CAPITAL_MEMO = "insurance fund capital"


class Command(BaseCommand):
    help = "Create the demo market (BTCUSDT, ETHUSDT, SOLUSDT with leverage brackets) if missing."

    def handle(self, *args, **options):
        created = market_seed()
        if created:
            self.stdout.write(self.style.SUCCESS(f"Created instruments: {', '.join(created)}"))
        else:
            self.stdout.write("Demo market already loaded; nothing changed.")
        capital = settings.INSURANCE_FUND_CAPITAL
        if capital and not LedgerEntry.objects.filter(memo=CAPITAL_MEMO).exists():
            insurance_fund_grant(amount=capital, memo=CAPITAL_MEMO)
            self.stdout.write(f"Insurance fund given its capital of {capital} USDT.")
