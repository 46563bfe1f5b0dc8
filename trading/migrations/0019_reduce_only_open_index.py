from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0018_redundant_user_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("reduce_only", True), ("status", "NEW")),
                fields=["user", "instrument"],
                name="order_reduce_only_open_idx",
            ),
        ),
    ]
