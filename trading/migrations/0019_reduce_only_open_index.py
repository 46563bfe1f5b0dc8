from django.conf import settings
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # built CONCURRENTLY: orders go on while it reads a live site's orders table
    atomic = False

    dependencies = [
        ("trading", "0018_redundant_user_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="order",
            index=models.Index(
                condition=models.Q(("reduce_only", True), ("status", "NEW")),
                fields=["user", "instrument"],
                name="order_reduce_only_open_idx",
            ),
        ),
    ]
