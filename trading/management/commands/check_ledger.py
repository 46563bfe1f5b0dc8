from django.core.management.base import BaseCommand, CommandError

from trading.selectors import ledger_problems


class Command(BaseCommand):
    help = "Prove that the ledger balances; exit non-zero and list every problem otherwise."

    def handle(self, *args, **options):
        problems = ledger_problems()
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"The ledger does not balance: {len(problems)} problem(s).")
        self.stdout.write(self.style.SUCCESS("The ledger balances."))
