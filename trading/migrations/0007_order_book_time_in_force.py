"""The order book's liquidity model on each instrument (it replaces the flat slippage rate), and
each order's time in force.

Existing instruments get a book like the new ones': a 1-tick half spread, a level every tick and
1000 minimum quantities per level, walked up to 5 % from the mark."""

from decimal import Decimal

from django.db import migrations, models
from django.db.models import F


def books_set(apps, schema_editor):
    Instrument = apps.get_model("trading", "Instrument")
    Instrument.objects.update(book_level_quantity=F("min_quantity") * 1000)


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0006_backoffice"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="instrument",
            name="instrument_rates_not_negative",
        ),
        migrations.RemoveField(
            model_name="instrument",
            name="slippage_rate",
        ),
        migrations.AddField(
            model_name="instrument",
            name="book_half_spread_ticks",
            field=models.PositiveIntegerField(
                default=1, help_text="Ticks from the mark to the best bid and to the best ask."
            ),
        ),
        migrations.AddField(
            model_name="instrument",
            name="book_level_quantity",
            field=models.DecimalField(
                decimal_places=8,
                default=Decimal("1"),
                help_text="Quantity resting at each price level.",
                max_digits=24,
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="instrument",
            name="book_level_ticks",
            field=models.PositiveIntegerField(
                default=1, help_text="Ticks between two price levels of the book."
            ),
        ),
        migrations.AddField(
            model_name="instrument",
            name="book_max_slippage_rate",
            field=models.DecimalField(
                decimal_places=8,
                default=Decimal("0.05"),
                help_text="How far from the mark a taker may walk the book (0.05 = 5 %); what "
                "lies beyond is not filled.",
                max_digits=12,
            ),
        ),
        migrations.AddField(
            model_name="order",
            name="time_in_force",
            field=models.CharField(
                choices=[
                    ("GTC", "Good till canceled"),
                    ("IOC", "Immediate or cancel"),
                    ("FOK", "Fill or kill"),
                    ("GTX", "Post only"),
                ],
                default="GTC",
                max_length=3,
            ),
        ),
        migrations.RunPython(books_set, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="instrument",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("liquidation_fee_rate__gte", 0),
                    ("maker_fee_rate__gte", 0),
                    ("taker_fee_rate__gte", 0),
                ),
                name="instrument_rates_not_negative",
            ),
        ),
        migrations.AddConstraint(
            model_name="instrument",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("book_level_quantity__gt", 0),
                    ("book_level_ticks__gte", 1),
                    ("book_max_slippage_rate__gt", 0),
                    ("book_max_slippage_rate__lt", 1),
                ),
                name="instrument_book_valid",
            ),
        ),
    ]
