"""A ledger entry's time can be given (ledger_post's ``at``): a funding payment carries its
funding time, even when a late run posts it. The column is unchanged: auto_now_add (always
now) becomes a default of now that ledger_post may replace."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0007_order_book_time_in_force"),
    ]

    operations = [
        migrations.AlterField(
            model_name="ledgerentry",
            name="created_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now,
                editable=False,
                help_text="when the money moved; for a funding payment, its funding time "
                "(ledger_post's at), even when posted later",
            ),
        ),
    ]
