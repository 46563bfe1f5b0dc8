"""The API's JSON: models and read models out (decimals as strings, never floats), request bodies
in. Request fields that are numbers are passed to the services as sent, so a float is refused by
the service's own check (0.1 as a float is not 0.1) rather than silently rounded here."""

from rest_framework import serializers

from trading.models import Instrument, LeverageBracket, Order, Position


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
    brackets = BracketSerializer(many=True, read_only=True)

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
            "margin_mode",
            "quantity",
            "price",
            "stop_price",
            "reduce_only",
            "leverage",
            "status",
            "filled_quantity",
            "average_fill_price",
            "margin_held",
            "created_at",
            "updated_at",
        ]


class OrderRequestSerializer(serializers.Serializer):
    symbol = serializers.CharField(max_length=20)
    side = serializers.ChoiceField(choices=["BUY", "SELL"])
    quantity = AsSent()
    order_type = serializers.ChoiceField(
        choices=["MARKET", "LIMIT", "STOP_MARKET", "TAKE_PROFIT_MARKET"], default="MARKET"
    )
    price = AsSent(required=False, allow_null=True, default=None)
    stop_price = AsSent(required=False, allow_null=True, default=None)
    margin_mode = serializers.ChoiceField(
        choices=["CROSS", "ISOLATED"], required=False, allow_null=True, default=None
    )
    reduce_only = serializers.BooleanField(default=False)
    client_order_id = serializers.CharField(
        max_length=36, required=False, allow_null=True, default=None
    )


class PositionSerializer(serializers.Serializer):
    """An open position with its live figures at the mark."""

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
    opened_at = serializers.DateTimeField(source="position.opened_at")


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
    price = serializers.DecimalField(max_digits=40, decimal_places=8)
    notional = serializers.DecimalField(max_digits=40, decimal_places=8)
    initial_margin = serializers.DecimalField(max_digits=40, decimal_places=8)
    fee = serializers.DecimalField(max_digits=40, decimal_places=8)
    accepted = serializers.BooleanField()
    rejection_code = serializers.CharField(allow_null=True)
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
    quantity = serializers.DecimalField(max_digits=24, decimal_places=8)
    margin_mode = serializers.CharField()
    chosen = ModePreviewSerializer()
    alternative = ModePreviewSerializer()
    other_mode_position_open = serializers.BooleanField()
