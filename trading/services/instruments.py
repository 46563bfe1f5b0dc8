"""Creating instruments and loading the demo market.

A bracket table is validated by the engine before anything is written, so an instrument is never
stored with tiers that would make liquidation prices ambiguous.
"""

import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from django.db import IntegrityError, transaction

from trading.engine import Bracket, brackets_from_rows, brackets_validate
from trading.models import Instrument, LeverageBracket, MarkPrice

MARKET_SEED_FILE = Path(__file__).resolve().parent.parent / "seed" / "market.json"


def instrument_create(
    *,
    symbol: str,
    base_asset: str,
    quote_asset: str,
    tick_size: Decimal,
    step_size: Decimal,
    min_quantity: Decimal,
    min_notional: Decimal,
    default_leverage: int,
    taker_fee_rate: Decimal,
    maker_fee_rate: Decimal,
    liquidation_fee_rate: Decimal,
    brackets: Sequence[Bracket],
) -> Instrument:
    """An instrument with its bracket table; its max leverage is the first bracket's."""
    brackets_validate(brackets)
    with transaction.atomic(durable=True):
        instrument = Instrument.objects.create(
            symbol=symbol,
            base_asset=base_asset,
            quote_asset=quote_asset,
            tick_size=tick_size,
            step_size=step_size,
            min_quantity=min_quantity,
            min_notional=min_notional,
            max_leverage=brackets[0].max_leverage,
            default_leverage=default_leverage,
            taker_fee_rate=taker_fee_rate,
            maker_fee_rate=maker_fee_rate,
            liquidation_fee_rate=liquidation_fee_rate,
        )
        LeverageBracket.objects.bulk_create(
            LeverageBracket(
                instrument=instrument,
                tier=tier,
                notional_floor=bracket.notional_floor,
                notional_cap=bracket.notional_cap,
                max_leverage=bracket.max_leverage,
                maintenance_margin_rate=bracket.maintenance_margin_rate,
                maintenance_amount=bracket.maintenance_amount,
            )
            for tier, bracket in enumerate(brackets, start=1)
        )
    return instrument


def market_seed(*, seed_file: Path = MARKET_SEED_FILE) -> list[str]:
    """Create the demo market's instruments that do not exist yet, each with a starting mark
    price; return the symbols created.

    Existing instruments are left as they are, so an operator's edits survive a restart. Two
    processes seeding at once both succeed: the loser of the race on the unique symbol skips it.
    """
    seed = json.loads(seed_file.read_text())
    created = []
    for spec in seed["instruments"]:
        if Instrument.objects.filter(symbol=spec["symbol"]).exists():
            continue
        brackets = brackets_from_rows(spec["brackets"])
        try:
            instrument_create(
                symbol=spec["symbol"],
                base_asset=spec["base_asset"],
                quote_asset=spec["quote_asset"],
                tick_size=Decimal(spec["tick_size"]),
                step_size=Decimal(spec["step_size"]),
                min_quantity=Decimal(spec["min_quantity"]),
                min_notional=Decimal(spec["min_notional"]),
                default_leverage=spec["default_leverage"],
                taker_fee_rate=Decimal(spec["taker_fee_rate"]),
                maker_fee_rate=Decimal(spec["maker_fee_rate"]),
                liquidation_fee_rate=Decimal(spec["liquidation_fee_rate"]),
                brackets=brackets,
            )
        except IntegrityError:
            if not Instrument.objects.filter(symbol=spec["symbol"]).exists():
                raise
            continue
        MarkPrice.objects.get_or_create(
            instrument__symbol=spec["symbol"],
            defaults={
                "instrument": Instrument.objects.get(symbol=spec["symbol"]),
                "price": Decimal(spec["mark_price"]),
                "source": MarkPrice.Source.SEED,
            },
        )
        created.append(spec["symbol"])
    return created
