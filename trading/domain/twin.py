"""The other-mode twin: what an open position would be had it been opened in the other margin
mode (the maths in trading/engine/twin.py), and what a liquidation receipt says the other mode
would have done at that moment.

- The isolated twin of a cross position holds the margin an isolated order would have moved out
  of the wallet at its entry, q x EP / leverage at the leverage set for the symbol's isolated
  mode, rounded as that order's settlement rounds it; its venue counts that margin as it counts
  an opened position's (trading/domain/venues.py). It can lose that margin and nothing more.
- The cross twin of an isolated position joins the account's cross positions, with its isolated
  margin back in the wallet (in Cross it would never have left it). It puts that whole wallet at
  risk.
- Where the account holds the symbol in both modes, the twin is valued beside the other
  position, as a position of its own: a real order would have merged the two.

A receipt keeps its twins as a record (``OtherMode.record``: decimals as strings), written at
the liquidation from the state just before it, so it never changes afterwards.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from trading import engine
from trading.domain.holdings import Holdings, isolated_holding
from trading.domain.sides import engine_side
from trading.engine.decimals import ENGINE_CONTEXT
from trading.engine.twin import cross_twin, isolated_twin
from trading.models import MarginMode, Position
from trading.money import ZERO, money_owed, price_stored

CENT = Decimal("0.01")


def other_mode(mode: str) -> str:
    """Cross for Isolated, Isolated for Cross."""
    return MarginMode.ISOLATED if mode == MarginMode.CROSS else MarginMode.CROSS


@dataclass(frozen=True)
class PositionTwin:
    """A position's twin at the mark: its mode (the other one), the position it twins, its
    liquidation price (exact, and on the tick on the safe side), what it puts at risk (the
    isolated margin, or the cross wallet), its uPnL and whether the mark liquidates it."""

    mode: str
    position_id: int
    symbol: str
    side: str
    tick_size: Decimal
    liquidation_price: Decimal | None
    liquidation_price_display: Decimal | None
    at_risk: Decimal
    unrealized_pnl: Decimal
    liquidated: bool

    def record(self) -> dict:
        """As a receipt keeps it (decimals as strings)."""
        return {
            "position": self.position_id,
            "symbol": self.symbol,
            "side": self.side,
            "tick_size": str(self.tick_size),
            "liquidation_price": _text(self.liquidation_price),
            "liquidation_price_display": _text(self.liquidation_price_display),
            "at_risk": _exact(self.at_risk),
            "unrealized_pnl": _exact(self.unrealized_pnl),
            "liquidated": self.liquidated,
        }

    @classmethod
    def from_record(cls, mode: str, row: dict) -> "PositionTwin":
        def optional(name):
            return None if row[name] is None else Decimal(row[name])

        return cls(
            mode=mode,
            position_id=row["position"],
            symbol=row["symbol"],
            side=row["side"],
            tick_size=Decimal(row["tick_size"]),
            liquidation_price=optional("liquidation_price"),
            liquidation_price_display=optional("liquidation_price_display"),
            at_risk=Decimal(row["at_risk"]),
            unrealized_pnl=Decimal(row["unrealized_pnl"]),
            liquidated=row["liquidated"],
        )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(price_stored(value))


def _exact(value: Decimal) -> str:
    """Every digit, without trailing zeros or an exponent."""
    return format(value.normalize(ENGINE_CONTEXT), "f")


def position_twin(holdings: Holdings, position: Position, *, leverage: int) -> PositionTwin:
    """The twin of the open ``position`` of the account ``holdings`` (at its marks), at
    ``leverage``, the leverage stored for the symbol's other mode (see the module)."""
    instrument = position.instrument
    state = holdings.holdings[(position.instrument_id, position.margin_mode)].position
    if position.margin_mode == MarginMode.CROSS:
        margin = money_owed(engine.initial_margin(state.quantity * state.entry_price, leverage))
        twin = isolated_twin(isolated_holding(state, margin, leverage, instrument=instrument))
    else:
        twin = cross_twin(
            engine.CrossHolding(state, leverage),
            wallet_balance=holdings.wallet_balance + position.isolated_margin,
            others=[h for h in holdings.holdings.values() if isinstance(h, engine.CrossHolding)],
        )
    return PositionTwin(
        mode=other_mode(position.margin_mode),
        position_id=position.pk,
        symbol=instrument.symbol,
        side=position.side,
        tick_size=instrument.tick_size,
        liquidation_price=twin.liquidation_price,
        liquidation_price_display=engine.liquidation_price_for_display(
            twin.liquidation_price, side=engine_side(position.side), tick_size=instrument.tick_size
        ),
        at_risk=twin.at_risk,
        unrealized_pnl=twin.unrealized_pnl,
        liquidated=twin.liquidated,
    )


@dataclass(frozen=True)
class OtherMode:
    """What the other mode would have done at a liquidation: the twin of each liquidated
    position, at the marks of the trigger."""

    mode: str
    twins: tuple[PositionTwin, ...]

    def record(self) -> dict:
        return {"mode": self.mode, "positions": [twin.record() for twin in self.twins]}

    @classmethod
    def from_record(cls, record: dict) -> "OtherMode":
        mode = record["mode"]
        return cls(mode, tuple(PositionTwin.from_record(mode, row) for row in record["positions"]))

    @property
    def outcome(self) -> str:
        return twin_outcome(self.twins)


def usdt_cents(amount: Decimal) -> str:
    """An amount in a sentence: to the cent, grouped ("1,240.00")."""
    return format(amount.quantize(CENT, rounding=ROUND_HALF_EVEN), ",f")


def _price(twin: PositionTwin) -> str:
    price = twin.liquidation_price_display
    if price is None:
        return "no liquidation price"
    shown = price.quantize(twin.tick_size.normalize(), rounding=ROUND_HALF_EVEN)
    return f"liq. price {shown:,f}"


def twin_outcome(twins: Sequence[PositionTwin]) -> str:
    """The receipt's sentence: what the other mode would have done at this liquidation's marks.

    In Cross (the twin of a liquidated isolated position): the loss at the mark taken from the
    wallet with the position left open, or, if the cross account would have gone too, the whole
    wallet at risk. In Isolated (the twins of liquidated cross positions): each twin's margin
    lost, or its survival on that margin."""
    if twins[0].mode == MarginMode.CROSS:
        twin = twins[0]
        if twin.liquidated:
            return (
                "In Cross, this move would have liquidated it too, with your whole wallet of "
                f"{usdt_cents(twin.at_risk)} USDT at risk."
            )
        return (
            f"In Cross, this move would have taken {usdt_cents(max(ZERO, -twin.unrealized_pnl))} "
            f"USDT from your wallet and left you open ({_price(twin)})."
        )
    if len(twins) == 1:
        twin = twins[0]
        if twin.liquidated:
            return (
                f"In Isolated, only the {usdt_cents(twin.at_risk)} USDT margin would have been "
                "lost."
            )
        return (
            "In Isolated, this position would have survived this move on its "
            f"{usdt_cents(twin.at_risk)} USDT margin ({_price(twin)})."
        )
    parts = [
        f"{twin.symbol} {twin.side.lower()} "
        + (
            f"would have lost only its {usdt_cents(twin.at_risk)} USDT margin"
            if twin.liquidated
            else f"would have survived on its {usdt_cents(twin.at_risk)} USDT margin "
            f"({_price(twin)})"
        )
        for twin in twins
    ]
    return f"In Isolated, {'; '.join(parts)}."
