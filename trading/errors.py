"""The trading refusals, each with its stable code (external clients match on it) and, where the
code stands for several conditions, the ``Reason`` each refusal names (marginsite/errors.py)."""

from enum import StrEnum

from marginsite.errors import ApplicationError, InvalidInput, NotFound


class InvalidQuantity(InvalidInput):
    code = "INVALID_QUANTITY"

    class Reason(StrEnum):
        # the first three are trading.inputs.decimal_from_input's
        NOT_A_NUMBER = "NOT_A_NUMBER"
        TOO_LARGE = "TOO_LARGE"
        TOO_PRECISE = "TOO_PRECISE"  # more decimal places than marginsite keeps
        NOT_POSITIVE = "NOT_POSITIVE"
        OFF_STEP = "OFF_STEP"  # not a whole number of the instrument's steps
        BELOW_MIN_QUANTITY = "BELOW_MIN_QUANTITY"
        BELOW_MIN_NOTIONAL = "BELOW_MIN_NOTIONAL"  # the order's value, quantity x price
        NOT_ABOVE_FILLED = "NOT_ABOVE_FILLED"  # an edit to no more than the order has filled


class InvalidPrice(InvalidInput):
    code = "INVALID_PRICE"

    class Reason(StrEnum):
        # the first three are trading.inputs.decimal_from_input's
        NOT_A_NUMBER = "NOT_A_NUMBER"
        TOO_LARGE = "TOO_LARGE"
        TOO_PRECISE = "TOO_PRECISE"
        NOT_POSITIVE = "NOT_POSITIVE"
        OFF_TICK = "OFF_TICK"  # not a whole number of the instrument's ticks
        BELOW_ONE_TICK = "BELOW_ONE_TICK"  # a mark price
        MISSING = "MISSING"  # the order type needs this price
        NOT_TAKEN = "NOT_TAKEN"  # the order type takes no such price
        WOULD_TRIGGER_IMMEDIATELY = "WOULD_TRIGGER_IMMEDIATELY"  # a stop already through the mark
        UNKNOWN_SOURCE = "UNKNOWN_SOURCE"  # a mark's source


class InvalidLeverage(InvalidInput):
    code = "INVALID_LEVERAGE"


class InvalidAmount(InvalidInput):
    code = "INVALID_AMOUNT"


class UnknownSymbol(NotFound):
    code = "UNKNOWN_SYMBOL"


class SymbolHalted(ApplicationError):
    code = "SYMBOL_HALTED"
    status = 409


class NoMarkPrice(ApplicationError):
    code = "NO_MARK_PRICE"
    status = 409


class LeverageTooHigh(ApplicationError):
    code = "LEVERAGE_TOO_HIGH"

    class Reason(StrEnum):
        ABOVE_MAXIMUM = "ABOVE_MAXIMUM"  # the symbol's maximum leverage
        POSITION_TOO_LARGE = "POSITION_TOO_LARGE"  # above the bracket cap at this leverage


class LeverageReductionRefused(ApplicationError):
    code = "LEVERAGE_REDUCTION_NOT_SUPPORTED"
    status = 409


class MarginInsufficient(ApplicationError):
    code = "MARGIN_INSUFFICIENT"
    status = 409


class MarginModeLocked(ApplicationError):
    code = "MARGIN_MODE_LOCKED"
    status = 409

    class Reason(StrEnum):
        OPEN_POSITION = "OPEN_POSITION"
        OPEN_ORDERS = "OPEN_ORDERS"


class MarginModeUnchanged(ApplicationError):
    code = "MARGIN_MODE_UNCHANGED"


class NotIsolated(ApplicationError):
    code = "NOT_ISOLATED"


class NoPosition(NotFound):
    code = "NO_POSITION"


class ReduceOnlyRejected(ApplicationError):
    code = "REDUCE_ONLY_REJECTED"
    status = 409


class ClosePositionExists(ApplicationError):
    """A position holds at most one open close-position order of each type: its take-profit
    (TAKE_PROFIT_MARKET) and its stop-loss (STOP_MARKET), as on Binance."""

    code = "CLOSE_POSITION_ORDER_EXISTS"
    status = 409


class BookTooThin(ApplicationError):
    """An action that must fill whole at once (a reversal) would not: the book holds less within
    the maximum slippage. Nothing is done."""

    code = "BOOK_TOO_THIN"
    status = 409


class OrderNotFound(NotFound):
    code = "ORDER_NOT_FOUND"


class OrderNotCancelable(ApplicationError):
    code = "ORDER_NOT_CANCELABLE"
    status = 409


class OrderNotEditable(ApplicationError):
    """Only an open (NEW) LIMIT order can be edited: a filled, canceled or expired one is done,
    and a conditional order holds no price on the book."""

    code = "ORDER_NOT_EDITABLE"
    status = 409


class PostOnlyRejected(ApplicationError):
    """A post-only (GTX) order whose price would take from the book: it is not recorded."""

    code = "POST_ONLY_REJECTED"
    status = 409


class AlreadySubmitted(ApplicationError):
    """A back office form sent a second time (a double click, the browser's back button): the
    action ran once, and does not run again."""

    code = "ALREADY_SUBMITTED"
    status = 409


class NoWallet(ApplicationError):
    """A user made outside marginsite's sign-up (``manage.py createsuperuser``) has no paper
    account to act on."""

    code = "NO_WALLET"
    status = 409


class WalletResetRefused(ApplicationError):
    code = "WALLET_RESET_REFUSED"
    status = 409


class ReviewOutdated(ApplicationError):
    """What the user reviewed (the leverage of an order, an isolated position's margin) changed
    before they confirmed: nothing is done, they review again."""

    code = "REVIEW_OUTDATED"
    status = 409


class MarkNotHeld(ApplicationError):
    """Release asked for a mark that no operator price and no drill holds: the feed moves it."""

    code = "MARK_NOT_HELD"
    status = 409


class DrillRunning(ApplicationError):
    code = "DRILL_RUNNING"
    status = 409


class InvalidBrackets(InvalidInput):
    """A leverage bracket table that breaks a rule; ``tier`` (from 1) and ``field`` say where."""

    code = "INVALID_BRACKETS"

    def __init__(self, message: str, *, tier: int, field: str):
        super().__init__(message, field=field)
        self.tier = tier


class InstrumentStatusUnchanged(ApplicationError):
    """Halt asked for a halted instrument, or resume for one that is trading."""

    code = "INSTRUMENT_STATUS_UNCHANGED"
    status = 409


class OperatorNotPermitted(ApplicationError):
    """A back office action by someone whose permissions do not include it (say, the support
    group, which may only look)."""

    code = "PERMISSION_DENIED"
    status = 403
