from decimal import Decimal

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0015_listen_keys"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="activation_price",
            field=models.DecimalField(blank=True, decimal_places=8, max_digits=24, null=True),
        ),
        migrations.AddField(
            model_name="order",
            name="callback_rate",
            field=models.DecimalField(
                blank=True,
                decimal_places=1,
                help_text="a trailing stop's distance from the best mark, in percent (0.1 to 10)",
                max_digits=4,
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="order",
            name="close_position",
            field=models.BooleanField(
                default=False, help_text="closes the whole position of its key when it triggers"
            ),
        ),
        migrations.AddField(
            model_name="order",
            name="trailing_extreme",
            field=models.DecimalField(
                blank=True,
                decimal_places=8,
                help_text="a trailing stop's best mark since it activated (none: not active yet)",
                max_digits=24,
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="order",
            name="order_type",
            field=models.CharField(
                choices=[
                    ("MARKET", "Market"),
                    ("LIMIT", "Limit"),
                    ("STOP_MARKET", "Stop market"),
                    ("TAKE_PROFIT_MARKET", "Take profit market"),
                    ("TRAILING_STOP_MARKET", "Trailing stop market"),
                ],
                max_length=20,
            ),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("order_type", "TRAILING_STOP_MARKET"), ("status", "NEW")),
                fields=["instrument"],
                name="order_trailing_open_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="order",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("close_position", False),
                    models.Q(
                        ("order_type__in", ["STOP_MARKET", "TAKE_PROFIT_MARKET"]),
                        ("reduce_only", True),
                    ),
                    _connector="OR",
                ),
                name="order_close_position_reduce_only_stop",
            ),
        ),
        migrations.AddConstraint(
            model_name="order",
            constraint=models.UniqueConstraint(
                condition=models.Q(("close_position", True), ("status", "NEW")),
                fields=("user", "instrument", "margin_mode", "order_type"),
                name="order_one_open_close_position_per_type",
            ),
        ),
        migrations.AddConstraint(
            model_name="order",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("callback_rate__gte", Decimal("0.1")),
                        ("callback_rate__lte", Decimal("10")),
                        ("order_type", "TRAILING_STOP_MARKET"),
                    ),
                    models.Q(
                        models.Q(("order_type", "TRAILING_STOP_MARKET"), _negated=True),
                        ("activation_price__isnull", True),
                        ("callback_rate__isnull", True),
                        ("trailing_extreme__isnull", True),
                    ),
                    _connector="OR",
                ),
                name="order_trailing_fields",
            ),
        ),
    ]
