"""A liquidation receipt becomes a record: each event stores the bracket tables its positions were
valued with (``brackets``) and, in each position of ``details``, every figure its receipt shows
(uPnL, the bracket at the mark, TMM1 and UPNL1, the bracket of the liquidation price, the tick and
step it is shown on), all at the trigger.

Backfill: an event written before this migration kept only its positions, its prices and its
totals; the receipt recomputed the rest from the instruments' *current* brackets and terms. Its
missing figures are filled in exactly that way, from each symbol's brackets, tick and step as
they are when this migration runs: every old receipt keeps reading what it read the day before,
and from then on never changes. Its stored figures (prices, margin balance, maintenance margin,
loss, insurance fund change) are left as they were.

The arithmetic is written out here rather than imported from trading.engine, so that this
migration stays as it is when the engine changes: uPnL = s q (MP - EP), maintenance margin =
q MP x MMR - cum with the bracket of the notional (the highest floor <= it, else the first).
"""

from decimal import Context, Decimal, localcontext

from django.db import migrations, models

EXACT = Context(prec=50)


def _text(value: Decimal) -> str:
    """As the liquidation service writes a figure: every digit, no trailing zeros."""
    return format(value.normalize(EXACT), "f")


def _bracket_for(table: list[tuple], notional: Decimal) -> tuple:
    chosen = table[0]
    for bracket in table:
        if bracket[0] <= notional:
            chosen = bracket
    return chosen


def _row(bracket: tuple) -> list:
    floor, cap, leverage, rate, amount = bracket
    return [_text(floor), _text(cap), leverage, _text(rate), _text(amount)]


def _position_figures(row: dict, table: list[tuple]) -> tuple[Decimal, Decimal]:
    """(uPnL, maintenance margin) of a detail row at its mark."""
    side = 1 if row["side"] == "LONG" else -1
    quantity, mark = Decimal(row["quantity"]), Decimal(row["mark_price"])
    _, _, _, rate, amount = _bracket_for(table, quantity * mark)
    pnl = side * quantity * (mark - Decimal(row["entry_price"]))
    return pnl, quantity * mark * rate - amount


def receipts_backfill(apps, schema_editor):
    Instrument = apps.get_model("trading", "Instrument")
    LiquidationEvent = apps.get_model("trading", "LiquidationEvent")
    instruments = {}
    for instrument in Instrument.objects.prefetch_related("brackets"):
        table = [
            (
                bracket.notional_floor,
                bracket.notional_cap,
                bracket.max_leverage,
                bracket.maintenance_margin_rate,
                bracket.maintenance_amount,
            )
            for bracket in sorted(instrument.brackets.all(), key=lambda b: b.tier)
        ]
        instruments[instrument.symbol] = (instrument, table)
    with localcontext(EXACT):
        for event in LiquidationEvent.objects.order_by("pk").iterator():
            rows = event.details
            figures = [_position_figures(row, instruments[row["symbol"]][1]) for row in rows]
            for index, row in enumerate(rows):
                instrument, table = instruments[row["symbol"]]
                others = [f for other, f in enumerate(figures) if other != index]
                isolated = event.margin_mode == "ISOLATED"
                quantity = Decimal(row["quantity"])
                price = row.get("liquidation_price")
                row.update(
                    unrealized_pnl=_text(figures[index][0]),
                    maintenance_bracket=_row(
                        _bracket_for(table, quantity * Decimal(row["mark_price"]))
                    ),
                    others_maintenance_margin=_text(
                        Decimal(0) if isolated else sum((mm for _, mm in others), Decimal(0))
                    ),
                    others_unrealized_pnl=_text(
                        Decimal(0) if isolated else sum((pnl for pnl, _ in others), Decimal(0))
                    ),
                    liquidation_bracket=None
                    if price is None
                    else _row(_bracket_for(table, quantity * Decimal(price))),
                    tick_size=str(instrument.tick_size),
                    step_size=str(instrument.step_size),
                )
            event.brackets = {
                row["symbol"]: [_row(bracket) for bracket in instruments[row["symbol"]][1]]
                for row in rows
            }
            event.save(update_fields=["details", "brackets"])


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0008_funding_at_funding_time"),
    ]

    operations = [
        migrations.AddField(
            model_name="liquidationevent",
            name="brackets",
            field=models.JSONField(
                default=dict,
                help_text="symbol -> the bracket table the positions were valued with at the "
                "trigger (rows of floor, cap, max leverage, rate, amount)",
            ),
            preserve_default=False,
        ),
        migrations.AlterField(
            model_name="liquidationevent",
            name="details",
            field=models.JSONField(
                help_text="per position, at the trigger: symbol, side, quantity, entry, mark, "
                "uPnL, the bracket of the notional at the mark, the other cross positions' "
                "maintenance margin and uPnL, the liquidation price and the bracket it was "
                "solved in, the bankruptcy price, and the instrument's tick and step (decimals "
                "as strings, brackets as rows of floor, cap, max leverage, rate, amount)"
            ),
        ),
        migrations.RunPython(receipts_backfill, migrations.RunPython.noop, elidable=True),
    ]
