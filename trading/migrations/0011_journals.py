"""Journals: each event's ledger entries grouped (a fill, a liquidation, a funding payment, a
single movement). Entries written before journals existed each get a journal of their own (a
single movement): what grouped them then cannot be told apart for sure, and check_ledger's check
of a journal against its fills applies to fills and liquidations journaled from now on."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

CHUNK = 2000


def journals_give(apps, schema_editor):
    Journal = apps.get_model("trading", "Journal")
    LedgerEntry = apps.get_model("trading", "LedgerEntry")
    entries = LedgerEntry.objects.filter(journal__isnull=True).order_by("pk")
    while chunk := list(entries[:CHUNK]):
        journals = Journal.objects.bulk_create(
            Journal(kind="TRANSFER", created_at=entry.created_at) for entry in chunk
        )
        for entry, journal in zip(chunk, journals, strict=True):
            entry.journal = journal
        LedgerEntry.objects.bulk_update(chunk, ["journal"])


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0010_preferences"),
    ]

    operations = [
        migrations.CreateModel(
            name="Journal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("FILL", "Fill"),
                            ("LIQUIDATION", "Liquidation"),
                            ("FUNDING", "Funding payment"),
                            ("TRANSFER", "Single movement"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, editable=False),
                ),
            ],
            options={"ordering": ["pk"]},
        ),
        migrations.AddField(
            model_name="ledgerentry",
            name="journal",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="entries",
                to="trading.journal",
            ),
        ),
        migrations.RunPython(journals_give, migrations.RunPython.noop),
    ]
