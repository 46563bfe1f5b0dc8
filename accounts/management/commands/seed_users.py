from django.core.management.base import BaseCommand

from accounts.services import DEMO_TRADER_PASSWORD, demo_users_seed


class Command(BaseCommand):
    help = "Create the demo trader and the admin user if missing, and print how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--demo-password", default=DEMO_TRADER_PASSWORD)
        parser.add_argument(
            "--admin-password", default=None, help="default: a random password, printed once"
        )

    def handle(self, *args, **options):
        seeded = demo_users_seed(
            demo_password=options["demo_password"], admin_password=options["admin_password"]
        )
        for user in seeded:
            if user.password is None:
                self.stdout.write(f"{user.role}: {user.username} (exists; password unchanged)")
            else:
                self.stdout.write(f"{user.role}: {user.username} / {user.password}")
