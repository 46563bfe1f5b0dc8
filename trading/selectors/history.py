"""Read models of the history pages: the user's orders, fills, ledger entries and liquidation
receipts.

Every page costs a fixed number of queries whatever its length: its rows come with what they
show joined in (select_related), and a receipt is one row: it reads the figures, brackets, tick
and step its event recorded at the trigger, never the instruments as they are now.
A user's ledger is the entries that move money into or out of one of their own ledger accounts
(their wallet, their isolated margins); entries between system accounts (the insurance fund and
the house) are not their money and show on the liquidation receipts instead.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, localcontext

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet

from marginsite.errors import InvalidInput, NotFound
from trading import engine
from trading.domain.sides import engine_side
from trading.domain.twin import OtherMode
from trading.engine.decimals import ENGINE_CONTEXT
from trading.models import (
    Fill,
    FundingPayment,
    LedgerAccount,
    LedgerEntry,
    LiquidationEvent,
    MarginMode,
    Order,
    Venue,
)

PAGE_SIZE = 50
PLUS, MINUS = "+", "\N{MINUS SIGN}"
SYSTEM_ACCOUNT_NAMES = {
    LedgerAccount.Kind.FEES: "Fees",
    LedgerAccount.Kind.INSURANCE_FUND: "Insurance fund",
    LedgerAccount.Kind.HOUSE: "House",
    LedgerAccount.Kind.DEPOSITS: "Paper deposits",
}


def _page(queryset: QuerySet, number) -> Page:
    """The page ``number`` (any text from the query string: a bad or too large one gives the
    first or the last page, as a bookmark to a shrunk history should)."""
    return Paginator(queryset, PAGE_SIZE).get_page(number)


# --- orders and fills ----------------------------------------------------------------------


def open_orders(*, user, symbol: str | None = None) -> list[Order]:
    """The user's open orders (of one symbol, if given), newest first: the open-orders panel's
    context."""
    orders = Order.objects.filter(user=user, status=Order.Status.NEW).select_related("instrument")
    return list(orders.filter(instrument__symbol=symbol) if symbol else orders)


def order_with_client_id(user, client_order_id: str) -> Order | None:
    """The user's order placed with ``client_order_id`` (a form submitted a second time)."""
    return Order.objects.filter(user=user, client_order_id=client_order_id).first()


def order_page(*, user, page=None) -> Page:
    """All the user's orders, newest first."""
    return _page(Order.objects.filter(user=user).select_related("instrument"), page)


def fill_page(*, user, page=None) -> Page:
    """The user's fills, newest first, each with its order and instrument."""
    fills = Fill.objects.filter(order__user=user).select_related("order__instrument")
    return _page(fills, page)


def recent_fills(*, user, symbol: str, limit: int = 10) -> list[Fill]:
    """The user's last ``limit`` fills on ``symbol``, newest first (the trade page's panel)."""
    fills = fill_list(user=user).filter(order__instrument__symbol=symbol)
    return list(fills[:limit])


def fill_list(*, user) -> QuerySet:
    """The user's fills, newest first, each with its order and instrument, for a caller that
    pages them its own way (the API)."""
    return Fill.objects.filter(order__user=user).select_related("order__instrument")


# --- the ledger ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerLine:
    """A ledger entry as the user sees it. ``amount`` is signed from the user's side: + into
    their money, - out of it; a move between their wallet and an isolated margin is signed as the
    wallet sees it, so that the wallet rows add up to the wallet balance."""

    entry: LedgerEntry
    amount: Decimal
    source: str
    destination: str
    symbol: str


def ledger_kind_checked(kind: str | None) -> str | None:
    """The kind filter from the query string: empty means every kind; an unknown one is refused
    (a silently ignored filter would show rows the user asked to leave out)."""
    if not kind:
        return None
    if kind not in LedgerEntry.Kind.values:
        raise InvalidInput(
            f'Unknown ledger entry kind "{kind}". Choose one of: '
            f"{', '.join(LedgerEntry.Kind.values)}.",
            field="kind",
        )
    return kind


def _ledger_entries(*, user, kind: str | None) -> QuerySet:
    own = LedgerAccount.objects.filter(user=user).values("pk")
    entries = (
        LedgerEntry.objects.filter(Q(source__in=own) | Q(destination__in=own))
        .select_related(
            "source__position__instrument",
            "destination__position__instrument",
            "position__instrument",
        )
        .order_by("-pk")
    )
    kind = ledger_kind_checked(kind)
    return entries.filter(kind=kind) if kind else entries


def _account_name(account: LedgerAccount, user) -> str:
    if account.kind == LedgerAccount.Kind.WALLET:
        return "Wallet" if account.user_id == user.pk else "Another wallet"
    if account.kind == LedgerAccount.Kind.ISOLATED_MARGIN:
        return f"{account.position.instrument.symbol} isolated margin"
    return SYSTEM_ACCOUNT_NAMES[account.kind]


def _ledger_line(entry: LedgerEntry, user) -> LedgerLine:
    source, destination = entry.source, entry.destination
    wallet = LedgerAccount.Kind.WALLET
    if destination.kind == wallet and destination.user_id == user.pk:
        amount = entry.amount
    elif source.kind == wallet and source.user_id == user.pk:
        amount = -entry.amount
    else:
        amount = entry.amount if destination.user_id == user.pk else -entry.amount
    return LedgerLine(
        entry=entry,
        amount=amount,
        source=_account_name(source, user),
        destination=_account_name(destination, user),
        symbol=entry.position.instrument.symbol if entry.position_id else "",
    )


def ledger_page(*, user, kind: str | None = None, page=None) -> Page:
    """A page of the user's ledger, newest first, optionally of one kind (refused if unknown)."""
    result = _page(_ledger_entries(user=user, kind=kind), page)
    result.object_list = [_ledger_line(entry, user) for entry in result.object_list]
    return result


def ledger_entry_list(*, user, kind: str | None = None) -> QuerySet:
    """The user's ledger entries, newest first, optionally of one kind (refused if unknown), for
    a caller that pages them its own way (the API) and reads a page with ``ledger_lines_of``."""
    return _ledger_entries(user=user, kind=kind)


def ledger_lines_of(entries, *, user) -> list[LedgerLine]:
    """Entries of ``ledger_entry_list`` as the user sees them."""
    return [_ledger_line(entry, user) for entry in entries]


def ledger_lines(*, user, kind: str | None = None) -> Iterator[LedgerLine]:
    """Every line of the user's ledger (for the CSV), newest first, read in chunks."""
    entries = _ledger_entries(user=user, kind=kind)
    return (_ledger_line(entry, user) for entry in entries.iterator(chunk_size=500))


# --- liquidations --------------------------------------------------------------------------


@dataclass(frozen=True)
class PositionDetail:
    """One position of a liquidation, from the receipt's ``details`` (decimals from strings)."""

    symbol: str
    side: str
    quantity: Decimal
    entry_price: Decimal
    mark_price: Decimal
    liquidation_price: Decimal | None
    bankruptcy_price: Decimal | None

    @classmethod
    def from_row(cls, row: dict) -> "PositionDetail":
        def optional(name):
            return None if row.get(name) is None else Decimal(row[name])

        return cls(
            symbol=row["symbol"],
            side=row["side"],
            quantity=Decimal(row["quantity"]),
            entry_price=Decimal(row["entry_price"]),
            mark_price=Decimal(row["mark_price"]),
            liquidation_price=optional("liquidation_price"),
            bankruptcy_price=optional("bankruptcy_price"),
        )


@dataclass(frozen=True)
class LiquidationRow:
    event: LiquidationEvent
    positions: list[PositionDetail]


def liquidation_list(*, user) -> QuerySet:
    """The user's liquidations, newest first, for a caller that pages them its own way (the
    API); each event's ``details`` holds its positions at the trigger."""
    return LiquidationEvent.objects.filter(user=user)


def liquidation_page(*, user, page=None) -> Page:
    """The user's liquidations, newest first."""
    result = _page(LiquidationEvent.objects.filter(user=user), page)
    result.object_list = [
        LiquidationRow(event, [PositionDetail.from_row(row) for row in event.details])
        for event in result.object_list
    ]
    return result


@dataclass(frozen=True)
class Term:
    """One term of a formula as printed: its sign and the factors multiplied in it (each shown
    as a magnitude, so a negative figure reads "- 2,800", not "+ -2,800")."""

    sign: str
    factors: tuple[Decimal, ...]


@dataclass(frozen=True)
class Expression:
    """A sum of terms and its result (``denominator``: a fraction, the numerator over it)."""

    terms: tuple[Term, ...]
    result: Decimal | None
    denominator: tuple[Term, ...] = ()


def _term(sign: int, *factors: Decimal) -> Term:
    """``sign`` times the product of ``factors``, the sign of a negative factor moved out."""
    for factor in factors:
        if factor < 0:
            sign = -sign
    return Term(PLUS if sign > 0 else MINUS, tuple(abs(factor) for factor in factors))


@dataclass(frozen=True)
class PositionReceipt:
    """A liquidated position at the trigger, and how its prices follow from the formulas: its
    uPnL and the bracket of its notional at the mark (for the maintenance margin), the other
    cross positions' maintenance margin and uPnL (TMM1, UPNL1; 0 when isolated), the bracket
    of its notional at the liquidation price (cum, MMR of that formula), and the instrument's
    tick and step it is shown on."""

    detail: PositionDetail
    tick_size: Decimal
    step_size: Decimal
    unrealized_pnl: Decimal
    maintenance_rate: Decimal
    maintenance_amount: Decimal
    liquidation_price_display: Decimal | None
    others_maintenance: Decimal
    others_unrealized_pnl: Decimal
    liquidation_bracket: engine.Bracket | None
    liquidation_formula: Expression | None
    bankruptcy_formula: Expression


@dataclass(frozen=True)
class ReceiptStep:
    """One liquidation fill of a receipt, as the event recorded it."""

    symbol: str
    final: bool
    quantity: Decimal
    mark_price: Decimal
    price: Decimal
    realized_pnl: Decimal
    liquidation_fee: Decimal


@dataclass(frozen=True)
class LiquidationReceipt:
    """The receipt page: the event, its positions, and its figures as formulas. ``collateral``
    (WB) is what backed the positions at the trigger: the isolated margin, or the cross wallet
    (what the user lost, unless partial steps brought the account back into margin)."""

    event: LiquidationEvent
    collateral: Decimal
    positions: list[PositionReceipt]
    margin_balance: Expression
    maintenance_margin: Expression
    insurance_fund_change: Expression

    @property
    def isolated(self) -> bool:
        return self.event.margin_mode == MarginMode.ISOLATED

    @property
    def steps(self) -> list[ReceiptStep]:
        return [
            ReceiptStep(
                line["symbol"],
                line["final"],
                *(
                    Decimal(line[name])
                    for name in (
                        "quantity",
                        "mark_price",
                        "price",
                        "realized_pnl",
                        "liquidation_fee",
                    )
                ),
            )
            for line in self.event.steps
        ]

    @property
    def other_mode(self) -> OtherMode | None:
        """What the other margin mode would have done at the trigger (None: a receipt written
        before it was kept)."""
        record = self.event.other_mode
        return None if record is None else OtherMode.from_record(record)

    @property
    def venue_label(self) -> str:
        """The venue rules the positions followed at the trigger (Binance's before profiles)."""
        venues = dict.fromkeys(row.get("venue", Venue.BINANCE) for row in self.event.details)
        return ", ".join(f"{Venue(venue).label}" for venue in venues)


def _bracket(row: list | None) -> engine.Bracket | None:
    return None if row is None else engine.brackets_from_rows([row])[0]


def _position_receipt(row: dict, collateral: Decimal, *, isolated: bool) -> PositionReceipt:
    """One position of the receipt, from the figures its row recorded at the trigger. Its
    liquidation price solves margin balance = maintenance margin with the bracket of q x LP; its
    bankruptcy price, margin balance = 0."""
    detail = PositionDetail.from_row(row)
    side, quantity = engine_side(detail.side), detail.quantity
    mark_bracket = _bracket(row["maintenance_bracket"])
    bracket = _bracket(row["liquidation_bracket"])
    others_mm = Decimal(row["others_maintenance_margin"])
    others_pnl = Decimal(row["others_unrealized_pnl"])
    tick_size = Decimal(row["tick_size"])
    if isolated:
        backing = (_term(1, collateral),)
        backing_lost = (_term(-side, collateral),)
    else:
        backing = (_term(1, collateral), _term(-1, others_mm), _term(1, others_pnl))
        backing_lost = (_term(-side, collateral), _term(-side, others_pnl))
    liquidation = None
    if detail.liquidation_price is not None:
        liquidation = Expression(
            terms=(
                *backing,
                _term(1, bracket.maintenance_amount),
                _term(-side, quantity, detail.entry_price),
            ),
            denominator=(
                _term(1, quantity, bracket.maintenance_margin_rate),
                _term(-side, quantity),
            ),
            result=detail.liquidation_price,
        )
    # BP = EP - (WB + UPNL1) / (s q), written over q like the liquidation price
    bankruptcy_formula = Expression(
        terms=(_term(1, quantity, detail.entry_price), *backing_lost),
        denominator=(_term(1, quantity),),
        result=detail.bankruptcy_price,
    )
    return PositionReceipt(
        detail=detail,
        tick_size=tick_size,
        step_size=Decimal(row["step_size"]),
        unrealized_pnl=Decimal(row["unrealized_pnl"]),
        maintenance_rate=mark_bracket.maintenance_margin_rate,
        maintenance_amount=mark_bracket.maintenance_amount,
        liquidation_price_display=engine.liquidation_price_for_display(
            detail.liquidation_price, side=side, tick_size=tick_size
        ),
        others_maintenance=others_mm,
        others_unrealized_pnl=others_pnl,
        liquidation_bracket=bracket,
        liquidation_formula=liquidation,
        bankruptcy_formula=bankruptcy_formula,
    )


def liquidation_receipt(*, user, event_id) -> LiquidationReceipt:
    """The receipt of one of the user's liquidations, from the figures the event recorded at the
    trigger and nothing else: an operator's later change of an instrument's brackets or terms
    leaves it as it was. Another user's event is not found, exactly like a missing one."""
    event = LiquidationEvent.objects.filter(user=user, pk=event_id).first()
    if event is None:
        raise NotFound("Liquidation not found.")
    collateral = event.collateral
    # abs() of a term rounds to the context: the engine's keeps every digit that was recorded
    with localcontext(ENGINE_CONTEXT):
        positions = [
            _position_receipt(row, collateral, isolated=event.margin_mode == MarginMode.ISOLATED)
            for row in event.details
        ]
        # the margin balance at the mark: what tripped the liquidation, and what the fund took
        # (or paid) when it closed the positions
        margin_balance = (
            _term(1, collateral),
            *(_term(1, position.unrealized_pnl) for position in positions),
        )
        maintenance_margin = tuple(
            term
            for position in positions
            for term in (
                _term(
                    1,
                    position.detail.quantity,
                    position.detail.mark_price,
                    position.maintenance_rate,
                ),
                _term(-1, position.maintenance_amount),
            )
        )
    return LiquidationReceipt(
        event=event,
        collateral=collateral,
        positions=positions,
        margin_balance=Expression(margin_balance, event.margin_balance),
        maintenance_margin=Expression(maintenance_margin, event.maintenance_margin),
        insurance_fund_change=Expression(margin_balance, event.insurance_fund_change),
    )


# --- funding -------------------------------------------------------------------------------


def funding_payment_list(*, user) -> QuerySet:
    """The user's funding payments, newest funding time first, each with its settlement (time,
    rate, mark), instrument and position."""
    return (
        FundingPayment.objects.filter(user=user)
        .select_related("settlement__instrument", "position")
        .order_by("-settlement__funding_time", "-pk")
    )
