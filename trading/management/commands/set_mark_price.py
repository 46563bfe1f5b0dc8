from django.core.management.base import BaseCommand, CommandError

from marginsite.errors import ApplicationError
from trading.services.prices import mark_price_release, mark_price_set


class Command(BaseCommand):
    help = (
        "Set an instrument's mark price by hand (it holds, whatever the price feed, until "
        "released), or release it with --release."
    )

    def add_arguments(self, parser):
        parser.add_argument("symbol", help="the instrument, such as BTCUSDT")
        parser.add_argument("price", nargs="?", help="the mark price, such as 25000")
        parser.add_argument(
            "--release",
            action="store_true",
            help="let the price feed move the mark again from its next tick",
        )

    def handle(self, *args, symbol, price, release, **options):
        if release == (price is not None):
            raise CommandError("Give either a price or --release (not both).")
        try:
            if release:
                mark = mark_price_release(symbol=symbol)
                self.stdout.write(
                    self.style.SUCCESS(
                        f"{mark.instrument.symbol} released at {mark.price.normalize():f}: "
                        "the price feed moves it from its next tick."
                    )
                )
            else:
                mark = mark_price_set(symbol=symbol, price=price)
                self.stdout.write(
                    self.style.SUCCESS(
                        f"{mark.instrument.symbol} mark price set to {mark.price.normalize():f}; "
                        f"it holds until released: manage.py set_mark_price "
                        f"{mark.instrument.symbol} --release"
                    )
                )
        except ApplicationError as refusal:
            raise CommandError(refusal.message) from None
