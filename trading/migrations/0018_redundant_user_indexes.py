import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# The index Django gave each of these foreign keys: an index on (user, ...) serves a lookup by
# user already. Only the index is dropped: an AlterField would also drop and re-add the foreign
# key, re-checking every row under an exclusive lock on the table and on accounts_user.
REDUNDANT = [
    ("trading_ledgerentry", "trading_ledgerentry_user_id_114b0e9f"),
    ("trading_notification", "trading_notification_user_id_983d1ceb"),
    ("trading_order", "trading_order_user_id_d0a6ce67"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0017_instruments_version"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="user",
                    field=models.ForeignKey(
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger_entries",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="notification",
                    name="user",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="notifications",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="user",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="orders",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{index}"',
                    reverse_sql=f'CREATE INDEX "{index}" ON "{table}" ("user_id")',
                )
                for table, index in REDUNDANT
            ],
        ),
    ]
