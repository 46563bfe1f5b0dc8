"""The settlement of a fill: what it does to the position of its margin mode and to the money.
One pure function, asked by the order plan (what a close brings back), the preview (the account
after the order) and the booking (trading/services/fills.py posts its transfers), so that a
preview shows exactly what the fill books.

Money rules:
- Opening or increasing an isolated position moves its initial margin from the wallet into the
  position's isolated margin; a cross position holds its margin implicitly.
- Reducing settles the realized PnL of the closed part. Cross: with the wallet. Isolated: with the
  position's own margin, whose share for the closed part (pro rata) then returns to the wallet;
  so an isolated loss never reaches the wallet.
- A loss beyond what backs the position (the wallet in cross, the position's whole margin in
  isolated: a position past its bankruptcy price) is covered by the insurance fund; the user
  never owes more, no wallet goes below 0.
- Fees are paid from the wallet last, after the closed part's money is back in it. What the
  wallet cannot pay is waived, never owed (only a pure close of an account past its bankruptcy
  can find it short: an order that opens was checked to pay its fees in cash).
- A liquidation closes through the same rules, its PnL booked as a liquidation; an isolated
  one's margin left at the fill goes to the insurance fund instead of the wallet (the user loses
  the margin, and only it).
"""

from dataclasses import dataclass, replace
from decimal import Decimal, localcontext
from enum import StrEnum

from trading import engine
from trading.engine.decimals import ENGINE_CONTEXT
from trading.money import ZERO, money_owed, money_received, price_stored


class Account(StrEnum):
    """Where a transfer's money comes from or goes: the user's wallet, the isolated margin of the
    leg's position, or a system account."""

    WALLET = "WALLET"
    POSITION = "POSITION"
    HOUSE = "HOUSE"
    INSURANCE_FUND = "INSURANCE_FUND"
    FEES = "FEES"


class Leg(StrEnum):
    """The part of a fill a transfer belongs to: the close of the position held before it, or the
    opening (or increase) of the position after it."""

    CLOSING = "CLOSING"
    OPENING = "OPENING"


@dataclass(frozen=True)
class Transfer:
    leg: Leg
    kind: str  # a LedgerEntry.Kind value
    amount: Decimal
    source: Account
    destination: Account
    memo: str = ""


@dataclass(frozen=True)
class PositionHeld:
    """A position as the settlement needs it: side (+1 long, -1 short), size, entry price, its
    isolated margin (0 in cross) and leverage."""

    side: int
    quantity: Decimal
    entry_price: Decimal
    isolated_margin: Decimal
    leverage: int


@dataclass(frozen=True)
class FillPart:
    """One fill row: the closing part or the opening part of a fill. A closing part's ``pnl`` is
    its PnL at the fill price; ``realized_pnl`` what of it the user's money took (see
    ``Settlement``)."""

    quantity: Decimal
    fee: Decimal
    realized_pnl: Decimal = ZERO
    pnl: Decimal = ZERO


@dataclass(frozen=True)
class Settlement:
    """A fill settled: its closing and opening parts (None: it has none), every transfer in the
    order it is posted, the position afterwards (None: flat), the wallet afterwards, whether the
    position held before is closed (flat, or reversed), and the fees the wallet could not pay
    (waived). A part's ``realized_pnl`` is the user's: what left or reached their money (the
    insurance fund's cover is not the user's loss)."""

    fill: engine.FillResult  # the engine's split of the fill (closed, opened, the position after)
    closing: FillPart | None
    opening: FillPart | None
    transfers: tuple[Transfer, ...]
    position: PositionHeld | None
    wallet_balance: Decimal
    position_closed: bool
    fee_waived: Decimal

    @property
    def realized_pnl(self) -> Decimal:
        return self.closing.realized_pnl if self.closing else ZERO

    @property
    def fee(self) -> Decimal:
        return sum((part.fee for part in (self.closing, self.opening) if part), ZERO)

    def net(self, account: Account) -> Decimal:
        """What ``account`` gains from the fill (negative: what it pays)."""
        return _net(self.transfers, account)

    def cash_back(self) -> Decimal:
        """What the closing part brings back to the wallet as cash before the fees (negative:
        what it takes): a reversal's new margin and the fees may spend it."""
        closing = (
            transfer
            for transfer in self.transfers
            if transfer.leg == Leg.CLOSING and transfer.destination != Account.FEES
        )
        return _net(closing, Account.WALLET)


def _net(transfers, account: Account) -> Decimal:
    return sum(
        (
            transfer.amount * (transfer.destination == account)
            - transfer.amount * (transfer.source == account)
            for transfer in transfers
        ),
        ZERO,
    )


# A closing part's PnL as the ledger names it: a trade's, or a liquidation's (at the mark).
_PNL_MEMO = {"REALIZED_PNL": "", "LIQUIDATION": "closed by the liquidation at the mark"}


class _Ledger:
    """The transfers of one settlement, and the wallet and margin balances they leave."""

    def __init__(self, wallet: Decimal, margin: Decimal):
        self.wallet, self.margin, self.transfers = wallet, margin, []

    def move(self, leg, kind, amount, source, destination, memo="") -> None:
        if not amount:
            return
        self.transfers.append(Transfer(leg, kind, amount, source, destination, memo))
        for account, change in ((source, -amount), (destination, amount)):
            if account == Account.WALLET:
                self.wallet += change
            elif account == Account.POSITION:
                self.margin += change


def fill_settlement(
    *,
    position: PositionHeld | None,
    isolated: bool,
    wallet_balance: Decimal,
    side: int,
    quantity: Decimal,
    price: Decimal,
    fee_rate: Decimal,
    leverage: int,
    liquidation: bool = False,
) -> Settlement:
    """Fill ``quantity`` on ``side`` (+1 buy, -1 sell) at ``price`` against ``position`` (the
    open position of the fill's symbol and mode, or None). ``leverage`` is the order's: a new
    position's; one that grows keeps its own. See the module for the rules."""
    after = engine.position_after_fill(
        position_side=position.side if position else None,
        position_quantity=position.quantity if position else ZERO,
        entry_price=position.entry_price if position else None,
        fill_side=side,
        fill_quantity=quantity,
        fill_price=price,
    )
    ledger = _Ledger(wallet_balance, position.isolated_margin if position else ZERO)
    closing = opening = None
    if after.closed_quantity:
        closing = _close(
            ledger, position, isolated, after.closed_quantity, price, fee_rate, liquidation
        )
    held = _held_after(position, after, ledger, leverage)
    if opened := after.opened_quantity:
        opening = FillPart(opened, money_owed(opened * price * fee_rate))
        if isolated:
            ledger.move(
                Leg.OPENING, "ISOLATED_MARGIN",
                money_owed(opened * price / held.leverage),
                Account.WALLET, Account.POSITION, "initial margin",
            )  # fmt: skip
            held = replace(held, isolated_margin=ledger.margin)
    due = sum((part.fee for part in (closing, opening) if part), ZERO)
    closing, opening = _fees_charge(ledger, closing, opening)
    return Settlement(
        fill=after,
        closing=closing,
        opening=opening,
        transfers=tuple(ledger.transfers),
        position=held,
        wallet_balance=ledger.wallet,
        position_closed=bool(position) and after.closed_quantity == position.quantity,
        fee_waived=due - sum((part.fee for part in (closing, opening) if part), ZERO),
    )


def _held_after(position, after, ledger, leverage) -> PositionHeld | None:
    """The position after the fill (its margin before an opening part adds to it)."""
    if after.side is None:
        return None
    if after.opened_quantity and (position is None or after.side != position.side):
        return PositionHeld(
            after.side, after.quantity, price_stored(after.entry_price), ZERO, leverage
        )
    return PositionHeld(
        after.side,
        after.quantity,
        price_stored(after.entry_price),
        ledger.margin,
        position.leverage,
    )


def _close(ledger, position, isolated, quantity, price, fee_rate, liquidation) -> FillPart:
    """Settle the closed part's PnL. The user's realized PnL is what left or reached their
    money: not what the insurance fund covered; for a liquidated isolated position, the margin
    it lost."""
    with localcontext(ENGINE_CONTEXT):  # every digit of the product, then rounded once
        pnl = money_received(position.side * quantity * (price - position.entry_price))
    kind = "LIQUIDATION" if liquidation else "REALIZED_PNL"
    if isolated:
        share = ledger.margin if quantity == position.quantity else money_received(
            ledger.margin * quantity / position.quantity
        )  # fmt: skip
        insured = _isolated_settle(ledger, share, pnl, kind, liquidation)
        realized = -share if liquidation else pnl + insured
    else:
        realized = pnl + _cross_settle(ledger, pnl, kind)
    fee = ZERO if liquidation else money_owed(quantity * price * fee_rate)
    return FillPart(quantity, fee, realized, pnl)


def _cross_settle(ledger, pnl, kind) -> Decimal:
    """Settle with the wallet; return what the insurance fund covered."""
    memo = _PNL_MEMO[kind]
    if pnl >= 0:
        ledger.move(Leg.CLOSING, kind, pnl, Account.HOUSE, Account.WALLET, memo)
        return ZERO
    loss = -pnl
    paid = min(loss, ledger.wallet)
    ledger.move(Leg.CLOSING, kind, paid, Account.WALLET, Account.HOUSE, memo)
    ledger.move(
        Leg.CLOSING, "INSURANCE", loss - paid, Account.INSURANCE_FUND, Account.HOUSE,
        "loss beyond the cross wallet",
    )  # fmt: skip
    return loss - paid


def _isolated_settle(ledger, share, pnl, kind, liquidation) -> Decimal:
    """Settle with the position's margin; return what the insurance fund covered. The closed
    part's ``share`` of the margin, less its loss (or with its profit), goes back to the wallet;
    in a liquidation, to the insurance fund: the user loses the share."""
    if liquidation:
        to, release_kind, memo = Account.INSURANCE_FUND, kind, "margin left at the liquidation"
    else:
        to, release_kind, memo = Account.WALLET, "ISOLATED_MARGIN", "margin released"
    pnl_memo = _PNL_MEMO[kind]
    if pnl >= 0:
        ledger.move(Leg.CLOSING, kind, pnl, Account.HOUSE, to, pnl_memo)
        ledger.move(Leg.CLOSING, release_kind, share, Account.POSITION, to, memo)
        return ZERO
    loss = -pnl
    from_share = min(loss, share)
    ledger.move(Leg.CLOSING, kind, from_share, Account.POSITION, Account.HOUSE, pnl_memo)
    ledger.move(Leg.CLOSING, release_kind, share - from_share, Account.POSITION, to, memo)
    beyond_share = loss - from_share
    from_rest = min(beyond_share, ledger.margin)
    ledger.move(Leg.CLOSING, kind, from_rest, Account.POSITION, Account.HOUSE, pnl_memo)
    ledger.move(
        Leg.CLOSING, "INSURANCE", beyond_share - from_rest, Account.INSURANCE_FUND, Account.HOUSE,
        "loss beyond the isolated margin",
    )  # fmt: skip
    return beyond_share - from_rest


def _fees_charge(ledger, closing, opening):
    """The parts' fees from the wallet, the closing part's first; capped at what it holds."""
    parts = []
    for leg, part in ((Leg.CLOSING, closing), (Leg.OPENING, opening)):
        if part is not None:
            charged = min(part.fee, ledger.wallet)
            ledger.move(leg, "FEE", charged, Account.WALLET, Account.FEES)
            part = replace(part, fee=charged)
        parts.append(part)
    return parts
