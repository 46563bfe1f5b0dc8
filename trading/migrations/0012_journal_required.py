"""Every ledger entry belongs to a journal (0011 gave the earlier ones theirs); a fill names the
journal of its entries. A migration of its own: PostgreSQL refuses to alter a table whose rows
the same transaction has just updated."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0011_journals"),
    ]

    operations = [
        migrations.AlterField(
            model_name="ledgerentry",
            name="journal",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="entries",
                to="trading.journal",
            ),
        ),
        migrations.AddField(
            model_name="fill",
            name="journal",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="fills",
                to="trading.journal",
            ),
        ),
    ]
