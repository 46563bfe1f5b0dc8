"""The API's JSON: models and read models out (decimals as strings, never floats), request bodies
in. Request fields that are numbers are passed to the services as sent, so a float is refused by
the service's own check (0.1 as a float is not 0.1) rather than silently rounded here."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from rest_framework import serializers

from trading.domain.venues import venue_rules
from trading.models import (
    Fill,
    FundingPayment,
    Instrument,
    LeverageBracket,
    LiquidationEvent,
    MarkPrice,
    Order,
    OrderType,
    Position,
    TimeInForce,
)
from trading.selectors.market import CHART_MINUTES


def figure(**kwargs):
    """A decimal out, as a string with 8 decimals: wide enough for any figure the engine
    computes (a notional at the largest price and quantity)."""
    return serializers.DecimalField(max_digits=40, decimal_places=8, **kwargs)


def money():
    return serializers.DecimalField(max_digits=28, decimal_places=8, read_only=True)


def money_or_none():
    return serializers.DecimalField(
        max_digits=28, decimal_places=8, read_only=True, allow_null=True
    )


class AsSent(serializers.Field):
    """A decimal sent as a string ("0.001"): handed to the service unchanged, which checks it."""

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return str(value)


class TextAsSent(serializers.CharField):
    """A string exactly as sent: a JSON number is not taken as its text, and surrounding spaces
    are refused, not trimmed (an id trimmed here would not be the id the bot looks up)."""

    default_error_messages = {
        "not_a_string": "Must be a JSON string.",
        "padded": "Must not begin or end with spaces.",
    }

    def __init__(self, **kwargs):
        super().__init__(trim_whitespace=False, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        if data != data.strip():
            self.fail("padded")
        return super().to_internal_value(data)


class BracketSerializer(serializers.ModelSerializer):
    class Meta:
        model = LeverageBracket
        fields = [
            "tier",
            "notional_floor",
            "notional_cap",
            "max_leverage",
            "maintenance_margin_rate",
            "maintenance_amount",
        ]


class InstrumentSerializer(serializers.ModelSerializer):
    """An instrument's terms, with the venue whose rules it follows and how often it funds."""

    brackets = BracketSerializer(many=True, read_only=True)
    funding_interval_seconds = serializers.SerializerMethodField()

    def get_funding_interval_seconds(self, instrument) -> str:
        """A decimal string, like every number here (an eighth of a short test interval has a
        fraction)."""
        interval = venue_rules(instrument.venue).funding_interval(settings.FUNDING_INTERVAL)
        return f"{Decimal(interval / timedelta(microseconds=1)) / 1_000_000:f}"

    class Meta:
        model = Instrument
        fields = [
            "symbol",
            "base_asset",
            "quote_asset",
            "status",
            "tick_size",
            "step_size",
            "min_quantity",
            "min_notional",
            "max_leverage",
            "default_leverage",
            "taker_fee_rate",
            "maker_fee_rate",
            "liquidation_fee_rate",
            "venue",
            "funding_interval_seconds",
            "book_half_spread_ticks",
            "book_level_ticks",
            "book_level_quantity",
            "book_max_slippage_rate",
            "brackets",
        ]


class AccountSerializer(serializers.Serializer):
    wallet_balance = money()
    cross_unrealized_pnl = money()
    cross_margin_balance = money()
    cross_maintenance_margin = money()
    cross_margin_ratio = money_or_none()
    available_balance = money()
    open_order_margin = money()
    isolated_margin = money()
    isolated_unrealized_pnl = money()
    equity = money()


class OrderSerializer(serializers.ModelSerializer):
    symbol = serializers.CharField(source="instrument.symbol", read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "client_order_id",
            "symbol",
            "side",
            "order_type",
            "time_in_force",
            "margin_mode",
            "quantity",
            "price",
            "stop_price",
            "reduce_only",
            "close_position",
            "callback_rate",
            "activation_price",
            "trailing_extreme",
            "leverage",
            "status",
            "filled_quantity",
            "average_fill_price",
            "margin_held",
            "created_at",
            "updated_at",
        ]


_ORDER_SHOWN = OrderSerializer()


def order_shown(order: Order) -> dict:
    """``OrderSerializer(order).data``, through one serializer whose fields are built once per
    process: a ModelSerializer builds its fields from the model for each instance, which cost ten
    times what writing the order out does. Its fields only read the order, so threads share it."""
    return _ORDER_SHOWN.to_representation(order)


class OrderRequestSerializer(serializers.Serializer):
    """A new order. Its size is ``quantity`` or ``cost`` (exactly one), or neither for a
    ``close_position`` order, which closes the whole position when it triggers."""

    symbol = serializers.CharField(max_length=20)
    side = serializers.ChoiceField(choices=["BUY", "SELL"])
    quantity = AsSent(required=False, allow_null=True, default=None)
    cost = AsSent(
        required=False,
        allow_null=True,
        default=None,
        help_text="instead of quantity: USDT of initial margin; the quantity is cost x leverage "
        "/ price, rounded down to the step (price: the order's, a stop's stop_price, a trailing "
        "stop's activation_price, else the best price of the book)",
    )
    order_type = serializers.ChoiceField(choices=OrderType.values, default="MARKET")
    price = AsSent(required=False, allow_null=True, default=None)
    stop_price = AsSent(required=False, allow_null=True, default=None)
    margin_mode = serializers.ChoiceField(
        choices=["CROSS", "ISOLATED"], required=False, allow_null=True, default=None
    )
    reduce_only = serializers.BooleanField(default=False)
    close_position = serializers.BooleanField(
        default=False,
        help_text="STOP_MARKET and TAKE_PROFIT_MARKET only, with no quantity: reduce-only, "
        "closes the whole position when it triggers (one of each type per position)",
    )
    callback_rate = AsSent(
        required=False,
        allow_null=True,
        default=None,
        help_text="TRAILING_STOP_MARKET only: percent back from the best mark, 0.1 to 10 in "
        "steps of 0.1",
    )
    activation_price = AsSent(
        required=False,
        allow_null=True,
        default=None,
        help_text="TRAILING_STOP_MARKET only: the mark at which it starts to trail (none: at once)",
    )
    client_order_id = TextAsSent(max_length=36, required=False, allow_null=True, default=None)
    time_in_force = serializers.ChoiceField(
        choices=TimeInForce.values,
        default=TimeInForce.GTC,
        help_text="LIMIT orders only: GTC rests, IOC fills what it can and expires the rest, FOK "
        "fills whole or expires, GTX (post-only) is refused if it would take.",
    )


class PositionTpslSerializer(serializers.Serializer):
    """A position's take-profit and stop-loss: trigger prices (mark) and order ids; null: not
    set. Each closes the whole position."""

    take_profit = figure(allow_null=True)
    take_profit_order_id = serializers.IntegerField(allow_null=True)
    stop_loss = figure(allow_null=True)
    stop_loss_order_id = serializers.IntegerField(allow_null=True)


class PositionTpslRequestSerializer(serializers.Serializer):
    """Either price or both; one given replaces the one set, one left out stays as it is."""

    take_profit = AsSent(required=False, allow_null=True, default=None)
    stop_loss = AsSent(required=False, allow_null=True, default=None)


class PositionTpslCancelSerializer(serializers.Serializer):
    which = serializers.ChoiceField(choices=["both", "take_profit", "stop_loss"], default="both")


class PositionsCloseAllSerializer(serializers.Serializer):
    margin_mode = serializers.ChoiceField(
        choices=["CROSS", "ISOLATED"],
        required=False,
        allow_null=True,
        default=None,
        help_text="only the positions of this mode (none: every open position)",
    )


class OrderEditSerializer(serializers.Serializer):
    """A resting LIMIT order's new quantity and price (both required, as on Binance)."""

    quantity = AsSent()
    price = AsSent()


class BookQuerySerializer(serializers.Serializer):
    depth = serializers.IntegerField(min_value=1, max_value=1000, default=20)


class BookSerializer(serializers.Serializer):
    """The order book around the mark: levels as [price, quantity], each side best first."""

    symbol = serializers.CharField()
    mark_price = serializers.DecimalField(max_digits=24, decimal_places=8, source="book.mark")
    bids = serializers.ListField(
        child=serializers.ListField(child=figure(), min_length=2, max_length=2),
        source="book.bids",
    )
    asks = serializers.ListField(
        child=serializers.ListField(child=figure(), min_length=2, max_length=2),
        source="book.asks",
    )


class PositionTwinSerializer(serializers.Serializer):
    """A position had it been opened in the other margin mode, at the same mark."""

    mode = serializers.CharField(help_text="the other margin mode: CROSS or ISOLATED")
    liquidation_price = figure(
        source="liquidation_price_display",
        allow_null=True,
        help_text="on the tick, rounded toward the entry (a long's up); null: none",
    )
    at_risk = figure(help_text="what it could lose: the isolated margin, or the cross wallet")
    liquidated = serializers.BooleanField(help_text="the mark is at or past its liquidation")


class PositionSerializer(serializers.Serializer):
    """An open position with its live figures at the mark, and ``other_mode``: its twin had it
    been opened in the other margin mode."""

    id = serializers.IntegerField(source="position.pk")
    symbol = serializers.CharField(source="position.instrument.symbol")
    margin_mode = serializers.CharField(source="position.margin_mode")
    side = serializers.CharField(source="position.side")
    quantity = serializers.DecimalField(source="position.quantity", max_digits=24, decimal_places=8)
    entry_price = serializers.DecimalField(
        source="position.entry_price", max_digits=24, decimal_places=8
    )
    leverage = serializers.IntegerField(source="position.leverage")
    isolated_margin = serializers.DecimalField(
        source="position.isolated_margin", max_digits=28, decimal_places=8
    )
    mark_price = serializers.DecimalField(max_digits=24, decimal_places=8)
    notional = serializers.DecimalField(source="figures.notional", max_digits=40, decimal_places=8)
    unrealized_pnl = serializers.DecimalField(
        source="figures.unrealized_pnl", max_digits=40, decimal_places=8
    )
    margin = serializers.DecimalField(source="figures.margin", max_digits=40, decimal_places=8)
    maintenance_margin = serializers.DecimalField(
        source="figures.maintenance_margin", max_digits=40, decimal_places=8
    )
    margin_ratio = serializers.DecimalField(
        source="figures.margin_ratio", max_digits=40, decimal_places=8, allow_null=True
    )
    liquidation_price = serializers.DecimalField(
        source="liquidation_price_display", max_digits=24, decimal_places=8, allow_null=True
    )
    venue = serializers.CharField(source="position.instrument.venue")
    adl_quantile = serializers.IntegerField()
    opened_at = serializers.DateTimeField(source="position.opened_at")
    other_mode = PositionTwinSerializer(source="twin")


class PositionModelSerializer(serializers.ModelSerializer):
    symbol = serializers.CharField(source="instrument.symbol", read_only=True)

    class Meta:
        model = Position
        fields = [
            "id",
            "symbol",
            "margin_mode",
            "side",
            "quantity",
            "entry_price",
            "leverage",
            "isolated_margin",
            "status",
        ]


class ModePreviewSerializer(serializers.Serializer):
    margin_mode = serializers.CharField()
    leverage = serializers.IntegerField()
    price = serializers.DecimalField(
        max_digits=40,
        decimal_places=8,
        help_text="The estimated fill price: a taker's average over the book levels it takes.",
    )
    fill_quantity = serializers.DecimalField(max_digits=40, decimal_places=8)
    rest_quantity = serializers.DecimalField(
        max_digits=40,
        decimal_places=8,
        help_text="What a GTC limit that fills in part leaves resting at its price.",
    )
    notional = serializers.DecimalField(max_digits=40, decimal_places=8)
    initial_margin = serializers.DecimalField(max_digits=40, decimal_places=8)
    fee = serializers.DecimalField(max_digits=40, decimal_places=8)
    accepted = serializers.BooleanField()
    rejection_code = serializers.CharField(allow_null=True)
    rejection_reason = serializers.CharField(
        allow_null=True,
        help_text="Where the code stands for several conditions, which one (as an error's reason).",
    )
    rejection_message = serializers.CharField(allow_null=True)
    liquidation_price = serializers.DecimalField(max_digits=40, decimal_places=8, allow_null=True)
    position_margin = serializers.DecimalField(max_digits=40, decimal_places=8)
    cross_margin_ratio_before = serializers.DecimalField(
        max_digits=40, decimal_places=8, allow_null=True
    )
    cross_margin_ratio_after = serializers.DecimalField(
        max_digits=40, decimal_places=8, allow_null=True
    )
    max_loss = serializers.DecimalField(max_digits=40, decimal_places=8)


class OrderPreviewSerializer(serializers.Serializer):
    """Both modes side by side: ``chosen`` (the order's mode) and ``alternative``."""

    symbol = serializers.CharField()
    side = serializers.CharField()
    order_type = serializers.CharField()
    time_in_force = serializers.CharField()
    quantity = serializers.DecimalField(max_digits=24, decimal_places=8)
    margin_mode = serializers.CharField()
    chosen = ModePreviewSerializer()
    alternative = ModePreviewSerializer()
    other_mode_position_open = serializers.BooleanField()


class LiveFundingRate(serializers.DecimalField):
    """The exchange's funding rate, which funding uses only while the mark is live: a rate left
    from an earlier live spell would be stale, so it reads null."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=12, decimal_places=8, allow_null=True, **kwargs)

    def get_attribute(self, instance):
        return instance.funding_rate if instance.source == MarkPrice.Source.LIVE else None


class MarkSerializer(serializers.ModelSerializer):
    symbol = serializers.CharField(source="instrument.symbol", read_only=True)
    funding_rate = LiveFundingRate(read_only=True)

    class Meta:
        model = MarkPrice
        fields = ["symbol", "price", "source", "updated_at", "funding_rate"]


class CandleSerializer(serializers.Serializer):
    """One minute of mark prices (UTC minute start)."""

    opened_at = serializers.DateTimeField()
    open = figure()
    high = figure()
    low = figure()
    close = figure()


class CandleQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=CHART_MINUTES)


MARGIN_MODES = ["CROSS", "ISOLATED"]


class PreferencesSerializer(serializers.Serializer):
    """The default margin mode of new orders on symbols without one of their own (/settings)."""

    default_margin_mode = serializers.ChoiceField(choices=MARGIN_MODES)


class SymbolMarginModeSerializer(serializers.Serializer):
    """The margin mode a symbol's new orders get when they name none."""

    symbol = serializers.CharField(read_only=True)
    margin_mode = serializers.ChoiceField(choices=MARGIN_MODES)


class ModeLeverageSerializer(serializers.Serializer):
    margin_mode = serializers.CharField()
    leverage = serializers.IntegerField()
    max_position = figure(help_text="the largest notional (USDT) allowed at this leverage")


class SymbolLeverageSerializer(serializers.Serializer):
    """A symbol's leverage in each margin mode (each mode has its own)."""

    symbol = serializers.CharField(source="instrument.symbol")
    max_leverage = serializers.IntegerField(source="instrument.max_leverage")
    modes = ModeLeverageSerializer(many=True)


class LeverageRequestSerializer(serializers.Serializer):
    margin_mode = serializers.ChoiceField(choices=MARGIN_MODES)
    leverage = AsSent(help_text="a whole number from 1 to the symbol's max_leverage")


class MarginChangeRequestSerializer(serializers.Serializer):
    change = serializers.ChoiceField(choices=["add", "remove"])
    amount = AsSent(help_text="USDT, as a string")
    expected_margin = AsSent(
        required=False,
        allow_null=True,
        default=None,
        help_text="the position's margin when the change was decided: if it has moved since, "
        "nothing is done (REVIEW_OUTDATED)",
    )


class MarginModeRequestSerializer(serializers.Serializer):
    margin_mode = serializers.ChoiceField(choices=MARGIN_MODES)


class FillSerializer(serializers.ModelSerializer):
    """One execution: a flip is two fills (the closing and the opening part)."""

    order_id = serializers.IntegerField(read_only=True)
    position_id = serializers.IntegerField(read_only=True)
    symbol = serializers.CharField(source="order.instrument.symbol", read_only=True)
    side = serializers.CharField(source="order.side", read_only=True)
    margin_mode = serializers.CharField(source="order.margin_mode", read_only=True)

    class Meta:
        model = Fill
        fields = [
            "id",
            "order_id",
            "position_id",
            "symbol",
            "side",
            "margin_mode",
            "price",
            "quantity",
            "fee",
            "realized_pnl",
            "liquidity",
            "created_at",
        ]


class LedgerLineSerializer(serializers.Serializer):
    """A ledger entry as the user sees it: ``amount`` is + into their money, - out of it (a move
    between the wallet and an isolated margin is signed as the wallet sees it, so the wallet
    rows add up to the wallet balance); ``source`` and ``destination`` name the accounts."""

    id = serializers.IntegerField(source="entry.pk")
    created_at = serializers.DateTimeField(source="entry.created_at")
    kind = serializers.CharField(source="entry.kind")
    symbol = serializers.CharField(source="entry.position.instrument.symbol", allow_null=True)
    amount = figure()
    source = serializers.CharField()
    destination = serializers.CharField()
    memo = serializers.CharField(source="entry.memo")
    position_id = serializers.IntegerField(source="entry.position_id", allow_null=True)
    order_id = serializers.IntegerField(source="entry.order_id", allow_null=True)


class LiquidatedPositionSerializer(serializers.Serializer):
    """A position of a liquidation as it stood at the trigger (the event's ``details``)."""

    position_id = serializers.IntegerField(source="position")
    symbol = serializers.CharField()
    side = serializers.CharField()
    quantity = figure()
    entry_price = figure()
    mark_price = figure(help_text="the mark at the trigger")
    liquidation_price = figure(allow_null=True, help_text="exact, not rounded to the tick")
    bankruptcy_price = figure(allow_null=True)


class LiquidationSerializer(serializers.ModelSerializer):
    """A liquidation: the figures at the trigger, what the user lost and what the insurance fund
    took (+) or paid (-)."""

    positions = LiquidatedPositionSerializer(source="details", many=True, read_only=True)

    class Meta:
        model = LiquidationEvent
        fields = [
            "id",
            "margin_mode",
            "created_at",
            "margin_balance",
            "maintenance_margin",
            "loss",
            "insurance_fund_change",
            "positions",
        ]


class ReceiptBracketSerializer(serializers.Serializer):
    notional_floor = figure()
    notional_cap = figure()
    max_leverage = serializers.IntegerField()
    maintenance_margin_rate = figure()
    maintenance_amount = figure()


class ReceiptPositionSerializer(serializers.Serializer):
    """One liquidated position and the figures its prices follow from: uPnL and the bracket of
    its notional at the mark; the other cross positions' maintenance margin and uPnL (0 when
    isolated); the bracket of its notional at the liquidation price (null: no such price)."""

    symbol = serializers.CharField(source="detail.symbol")
    side = serializers.CharField(source="detail.side")
    quantity = figure(source="detail.quantity")
    entry_price = figure(source="detail.entry_price")
    mark_price = figure(source="detail.mark_price")
    unrealized_pnl = figure()
    maintenance_margin_rate = figure(source="maintenance_rate")
    maintenance_amount = figure()
    others_maintenance_margin = figure(source="others_maintenance")
    others_unrealized_pnl = figure()
    liquidation_price = figure(source="detail.liquidation_price", allow_null=True)
    liquidation_price_display = figure(
        allow_null=True, help_text="on the tick, rounded toward the entry (a long's up)"
    )
    liquidation_bracket = ReceiptBracketSerializer(allow_null=True)
    bankruptcy_price = figure(source="detail.bankruptcy_price", allow_null=True)


class ReceiptTwinSerializer(serializers.Serializer):
    """A liquidated position's twin in the other mode, at the trigger's marks."""

    position_id = serializers.IntegerField()
    symbol = serializers.CharField()
    side = serializers.CharField()
    liquidation_price = figure(allow_null=True, help_text="exact, not rounded to the tick")
    liquidation_price_display = figure(allow_null=True)
    at_risk = figure(help_text="the isolated margin, or the cross wallet")
    unrealized_pnl = figure()
    liquidated = serializers.BooleanField(help_text="the other mode would have liquidated too")


class ReceiptOtherModeSerializer(serializers.Serializer):
    mode = serializers.CharField()
    outcome = serializers.CharField(help_text="what the other mode would have done, in words")
    positions = ReceiptTwinSerializer(source="twins", many=True)


class LiquidationReceiptSerializer(serializers.Serializer):
    """A liquidation's receipt: the event, ``collateral`` (the isolated margin or the cross
    wallet that backed the positions: what was lost), each position's figures, and
    ``other_mode``: what the other margin mode would have done at the trigger (null on
    receipts written before it was kept)."""

    id = serializers.IntegerField(source="event.pk")
    margin_mode = serializers.CharField(source="event.margin_mode")
    created_at = serializers.DateTimeField(source="event.created_at")
    collateral = figure()
    margin_balance = figure(source="event.margin_balance")
    maintenance_margin = figure(source="event.maintenance_margin")
    loss = figure(source="event.loss")
    insurance_fund_change = figure(source="event.insurance_fund_change")
    positions = ReceiptPositionSerializer(many=True)
    other_mode = ReceiptOtherModeSerializer(allow_null=True)


class FundingPaymentSerializer(serializers.ModelSerializer):
    """What a position paid (-) or received (+) at a funding time: mark notional x rate."""

    symbol = serializers.CharField(source="settlement.instrument.symbol", read_only=True)
    margin_mode = serializers.CharField(source="position.margin_mode", read_only=True)
    position_id = serializers.IntegerField(read_only=True)
    funding_time = serializers.DateTimeField(source="settlement.funding_time", read_only=True)
    rate = serializers.DecimalField(
        source="settlement.rate", max_digits=12, decimal_places=8, read_only=True
    )
    mark_price = serializers.DecimalField(
        source="settlement.mark_price", max_digits=24, decimal_places=8, read_only=True
    )

    class Meta:
        model = FundingPayment
        fields = [
            "id",
            "symbol",
            "margin_mode",
            "position_id",
            "funding_time",
            "rate",
            "mark_price",
            "amount",
            "created_at",
        ]
