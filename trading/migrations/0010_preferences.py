"""Preferences (the default margin mode), moved here from the accounts app
(accounts/migrations/0004_preferences_to_trading.py). In state only, on the same table
``accounts_preferences``: no row moves. Its content type moves with it, so the permissions
already granted on it (and the "support" group's) keep pointing at the model."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _content_type_move(apps, schema_editor, *, source: str, destination: str) -> None:
    """Relabel the model's content type, unless the destination already has one (made by a
    migrate that ran before this one existed: then the stale source row is left alone)."""
    content_types = apps.get_model("contenttypes", "ContentType").objects.db_manager(
        schema_editor.connection.alias
    )
    if not content_types.filter(app_label=destination, model="preferences").exists():
        content_types.filter(app_label=source, model="preferences").update(app_label=destination)


def content_type_to_trading(apps, schema_editor):
    _content_type_move(apps, schema_editor, source="accounts", destination="trading")


def content_type_to_accounts(apps, schema_editor):
    _content_type_move(apps, schema_editor, source="trading", destination="accounts")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_preferences_to_trading"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("trading", "0009_liquidation_receipts_as_records"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Preferences",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "default_margin_mode",
                            models.CharField(
                                choices=[("CROSS", "Cross"), ("ISOLATED", "Isolated")],
                                default="CROSS",
                                max_length=10,
                            ),
                        ),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        (
                            "user",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="preferences",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name_plural": "preferences",
                        "db_table": "accounts_preferences",
                        "ordering": ["user"],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_type_to_trading, content_type_to_accounts),
    ]
