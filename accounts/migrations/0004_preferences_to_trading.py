"""Preferences (the default margin mode) moves to the trading app, which owns margin modes. In
state only: the table ``accounts_preferences`` and its rows stay where they are, and
trading/migrations/0010_preferences.py takes the model over on that same table."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_api_keys"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Preferences")],
        ),
    ]
