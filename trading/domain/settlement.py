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
- A liquidation closes through the same rules, its PnL booked as a liquidation, with the
  liquidation fee instead of the trading fee: charged on the closed notional at the fill price,
  paid to the insurance fund from what backs the position (its isolated margin, or the cross
  wallet), and capped at what is left there. A partial step keeps the isolated margin with the
  position; the last step sends the margin left to the insurance fund (the user loses the
  margin, and only it).
- The insurance fund never goes below 0: it covers a loss beyond what backs a position up to its
  balance (``fund_balance``); what it cannot cover is the settlement's ``uncovered``, recovered by
  auto-deleveraging or, failing that, left with the house (the paper counterparty is paid less).
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
class Liquidation:
    """A fill made by a liquidation: its fee rate (of the closed notional at the fill price), and
    whether it is the last step (the margin left goes to the insurance fund) or a partial one (the
    position keeps its margin)."""

    fee_rate: Decimal
    final: bool = True


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
    uncovered: Decimal = ZERO  # the loss beyond what backs it that the insurance fund could not pay

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


class _Ledger:
    """The transfers of one settlement, and the wallet, margin and insurance fund balances they
    leave (the fund's None: not limited, for a preview)."""

    def __init__(self, wallet: Decimal, margin: Decimal, fund: Decimal | None):
        self.wallet, self.margin, self.fund, self.transfers = wallet, margin, fund, []
        self.uncovered = ZERO
        self.fee_waived = ZERO  # a liquidation fee beyond what was left to pay it

    def move(self, leg, kind, amount, source, destination, memo="") -> None:
        if not amount:
            return
        self.transfers.append(Transfer(leg, kind, amount, source, destination, memo))
        for account, change in ((source, -amount), (destination, amount)):
            if account == Account.WALLET:
                self.wallet += change
            elif account == Account.POSITION:
                self.margin += change
            elif account == Account.INSURANCE_FUND and self.fund is not None:
                self.fund += change

    def cover(self, loss: Decimal, memo: str) -> Decimal:
        """The insurance fund pays the house ``loss`` (beyond what backs a position), as far as
        its balance goes; the rest is ``uncovered``. Returns the whole ``loss``: none of it is
        the user's."""
        paid = loss if self.fund is None else min(loss, self.fund)
        self.move(Leg.CLOSING, "INSURANCE", paid, Account.INSURANCE_FUND, Account.HOUSE, memo)
        self.uncovered += loss - paid
        return loss


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
    liquidation: Liquidation | None = None,
    fund_balance: Decimal | None = None,
) -> Settlement:
    """Fill ``quantity`` on ``side`` (+1 buy, -1 sell) at ``price`` against ``position`` (the
    open position of the fill's symbol and mode, or None). ``leverage`` is the order's: a new
    position's; one that grows keeps its own. ``fund_balance`` is the insurance fund's (None: a
    preview, not limited). See the module for the rules."""
    after = engine.position_after_fill(
        position_side=position.side if position else None,
        position_quantity=position.quantity if position else ZERO,
        entry_price=position.entry_price if position else None,
        fill_side=side,
        fill_quantity=quantity,
        fill_price=price,
    )
    ledger = _Ledger(wallet_balance, position.isolated_margin if position else ZERO, fund_balance)
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
    if liquidation is None:
        closing, opening = _fees_charge(ledger, closing, opening)
    return Settlement(
        fill=after,
        closing=closing,
        opening=opening,
        transfers=tuple(ledger.transfers),
        position=held,
        wallet_balance=ledger.wallet,
        position_closed=bool(position) and after.closed_quantity == position.quantity,
        fee_waived=due
        - sum((part.fee for part in (closing, opening) if part), ZERO)
        + ledger.fee_waived,
        uncovered=ledger.uncovered,
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
    """Settle the closed part's PnL (and, in a liquidation, its fee). The user's realized PnL is
    what left or reached their money: not what the insurance fund covered; for a liquidated
    isolated position, what its margin lost besides the fee."""
    with localcontext(ENGINE_CONTEXT):  # every digit of the product, then rounded once
        pnl = money_received(position.side * quantity * (price - position.entry_price))
    if liquidation is not None:
        return _liquidation_close(ledger, position, isolated, quantity, price, pnl, liquidation)
    if isolated:
        share = ledger.margin if quantity == position.quantity else money_received(
            ledger.margin * quantity / position.quantity
        )  # fmt: skip
        realized = pnl + _isolated_settle(ledger, share, pnl)
    else:
        realized = pnl + _cross_settle(ledger, pnl)
    return FillPart(quantity, money_owed(quantity * price * fee_rate), realized, pnl)


def _liquidation_close(ledger, position, isolated, quantity, price, pnl, liquidation) -> FillPart:
    """A liquidation's fill: its PnL settled with what backs the position (an isolated margin
    keeps what is left of it), then the liquidation fee from there to the insurance fund (capped
    at what is left), then, at the last step of an isolated position, the margin left to the
    fund."""
    kind, memo = "LIQUIDATION", "closed by the liquidation at the mark"
    margin_before = ledger.margin
    backing = Account.POSITION if isolated else Account.WALLET
    if pnl >= 0:
        ledger.move(Leg.CLOSING, kind, pnl, Account.HOUSE, backing, memo)
        insured = ZERO
    else:
        paid = min(-pnl, ledger.margin if isolated else ledger.wallet)
        ledger.move(Leg.CLOSING, kind, paid, backing, Account.HOUSE, memo)
        insured = ledger.cover(
            -pnl - paid, f"loss beyond the {'isolated margin' if isolated else 'cross wallet'}"
        )
    left = ledger.margin if isolated else ledger.wallet
    due = money_owed(quantity * price * liquidation.fee_rate)
    fee = min(due, left)
    ledger.fee_waived += due - fee
    ledger.move(
        Leg.CLOSING, "LIQUIDATION_FEE", fee, backing, Account.INSURANCE_FUND, "liquidation fee"
    )
    if isolated and liquidation.final:
        ledger.move(
            Leg.CLOSING, kind, ledger.margin, Account.POSITION, Account.INSURANCE_FUND,
            "margin left at the liquidation",
        )  # fmt: skip
    realized = ledger.margin - margin_before + fee if isolated else pnl + insured
    return FillPart(quantity, fee, realized, pnl)


def _cross_settle(ledger, pnl) -> Decimal:
    """Settle with the wallet; return what the insurance fund covered (or left uncovered)."""
    if pnl >= 0:
        ledger.move(Leg.CLOSING, "REALIZED_PNL", pnl, Account.HOUSE, Account.WALLET)
        return ZERO
    loss = -pnl
    paid = min(loss, ledger.wallet)
    ledger.move(Leg.CLOSING, "REALIZED_PNL", paid, Account.WALLET, Account.HOUSE)
    return ledger.cover(loss - paid, "loss beyond the cross wallet")


def _isolated_settle(ledger, share, pnl) -> Decimal:
    """Settle with the position's margin; return what the insurance fund covered (or left
    uncovered). The closed part's ``share`` of the margin, less its loss (or with its profit),
    goes back to the wallet."""
    kind = "REALIZED_PNL"
    if pnl >= 0:
        ledger.move(Leg.CLOSING, kind, pnl, Account.HOUSE, Account.WALLET)
        ledger.move(
            Leg.CLOSING, "ISOLATED_MARGIN", share, Account.POSITION, Account.WALLET,
            "margin released",
        )  # fmt: skip
        return ZERO
    loss = -pnl
    from_share = min(loss, share)
    ledger.move(Leg.CLOSING, kind, from_share, Account.POSITION, Account.HOUSE)
    ledger.move(
        Leg.CLOSING, "ISOLATED_MARGIN", share - from_share, Account.POSITION, Account.WALLET,
        "margin released",
    )  # fmt: skip
    beyond_share = loss - from_share
    from_rest = min(beyond_share, ledger.margin)
    ledger.move(Leg.CLOSING, kind, from_rest, Account.POSITION, Account.HOUSE)
    return ledger.cover(beyond_share - from_rest, "loss beyond the isolated margin")


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
