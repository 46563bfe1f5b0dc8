import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_preferences_to_trading"),
        ("trading", "0014_liquidation_other_mode"),
    ]

    operations = [
        migrations.CreateModel(
            name="ListenKey",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=64, unique=True)),
                (
                    "expires_at",
                    models.DateTimeField(
                        help_text="60 minutes after it was opened or last kept alive"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "api_key",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="listen_key",
                        to="accounts.apikey",
                    ),
                ),
            ],
            options={"ordering": ["pk"]},
        ),
    ]
