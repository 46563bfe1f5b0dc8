from django.core.management.base import BaseCommand

from accounts.models import User
from accounts.services import superuser_create, user_create


class Command(BaseCommand):
    help = "Create the demo trader and the admin user if missing, and print how to log in."

    def add_arguments(self, parser):
        parser.add_argument("--demo-password", default="demo-trader-1")
        parser.add_argument("--admin-password", default="admin-operator-1")

    def handle(self, *args, **options):
        accounts = [
            ("demo", options["demo_password"], user_create, "Paper trader"),
            ("admin", options["admin_password"], superuser_create, "Operator (/admin/)"),
        ]
        for username, password, create, role in accounts:
            if User.objects.filter(username=username).exists():
                self.stdout.write(f"{role}: {username} (exists; password unchanged)")
            else:
                create(username=username, password=password)
                self.stdout.write(f"{role}: {username} / {password}")
