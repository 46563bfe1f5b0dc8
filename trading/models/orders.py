"""Orders and their fills. An order acts only on the position of its margin mode.

A ``close_position`` order (Binance's closePosition: a position's own take-profit or stop-loss)
is a reduce-only STOP_MARKET or TAKE_PROFIT_MARKET that closes the whole position its key holds
when it triggers; its ``quantity`` is the size when it was placed, brought to the size at the
trigger. A key holds at most one open of each type, as on Binance (-4130). A TRAILING_STOP_MARKET
follows the mark by ``callback_rate`` percent once the mark reaches its ``activation_price``;
``trailing_extreme`` is the best mark since then (trading/domain/triggers.py), kept by the sweep.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from trading.models.choices import MarginMode, OrderSide, OrderType, TimeInForce
from trading.models.fields import money_field, price_field, quantity_field
from trading.models.instruments import Instrument
from trading.models.positions import Position


class Order(models.Model):
    class Status(models.TextChoices):
        NEW = "NEW", "Open"
        FILLED = "FILLED", "Filled"
        CANCELED = "CANCELED", "Canceled"
        EXPIRED = "EXPIRED", "Expired"

    # db_index=False: order_user_status_idx (user, status) serves a lookup by user
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="orders")
    side = models.CharField(max_length=4, choices=OrderSide.choices)
    order_type = models.CharField(max_length=20, choices=OrderType.choices)
    time_in_force = models.CharField(
        max_length=3, choices=TimeInForce.choices, default=TimeInForce.GTC
    )
    margin_mode = models.CharField(max_length=10, choices=MarginMode.choices)
    quantity = quantity_field()
    price = price_field(null=True, blank=True)
    stop_price = price_field(null=True, blank=True)
    reduce_only = models.BooleanField(default=False)
    close_position = models.BooleanField(
        default=False, help_text="closes the whole position of its key when it triggers"
    )
    callback_rate = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        help_text="a trailing stop's distance from the best mark, in percent (0.1 to 10)",
    )
    activation_price = price_field(null=True, blank=True)
    trailing_extreme = price_field(
        null=True,
        blank=True,
        help_text="a trailing stop's best mark since it activated (none: not active yet)",
    )
    leverage = models.PositiveSmallIntegerField()
    client_order_id = models.CharField(max_length=36, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    filled_quantity = quantity_field(default=0)
    average_fill_price = price_field(null=True, blank=True)
    margin_held = money_field(
        default=0, help_text="initial margin + fee a resting order holds back from the wallet"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        permissions = [("cancel_any_order", "Can cancel a user's open order")]
        indexes = [
            models.Index(fields=["user", "status"], name="order_user_status_idx"),
            # the sweep's set-based update of the open trailing stops' extremes
            models.Index(
                fields=["instrument"],
                condition=Q(status="NEW", order_type=OrderType.TRAILING_STOP_MARKET),
                name="order_trailing_open_idx",
            ),
            # a close's cancel of its other open reduce-only orders (services/fills.py): it is
            # prepared, and the plan PostgreSQL keeps for it was made on the table as it was
            # then; made on a young table, it read the symbol's foreign-key index, a row for
            # every order ever placed on the symbol. This index holds only the open ones.
            models.Index(
                fields=["user", "instrument"],
                condition=Q(status="NEW", reduce_only=True),
                name="order_reduce_only_open_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "client_order_id"],
                condition=~Q(client_order_id=""),
                name="order_client_id_unique",
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_quantity_positive"),
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gt=0), name="order_price_positive"
            ),
            models.CheckConstraint(
                condition=Q(stop_price__isnull=True) | Q(stop_price__gt=0),
                name="order_stop_price_positive",
            ),
            models.CheckConstraint(condition=Q(margin_held__gte=0), name="order_margin_held"),
            models.CheckConstraint(
                condition=Q(close_position=False)
                | Q(
                    reduce_only=True,
                    order_type__in=[OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET],
                ),
                name="order_close_position_reduce_only_stop",
            ),
            models.UniqueConstraint(
                fields=["user", "instrument", "margin_mode", "order_type"],
                condition=Q(close_position=True, status="NEW"),
                name="order_one_open_close_position_per_type",
            ),
            models.CheckConstraint(
                condition=Q(
                    order_type=OrderType.TRAILING_STOP_MARKET,
                    callback_rate__gte=Decimal("0.1"),
                    callback_rate__lte=Decimal("10"),
                )
                | (
                    ~Q(order_type=OrderType.TRAILING_STOP_MARKET)
                    & Q(callback_rate__isnull=True, activation_price__isnull=True)
                    & Q(trailing_extreme__isnull=True)
                ),
                name="order_trailing_fields",
            ),
        ]

    def __str__(self):
        return f"{self.order_type} {self.side} {self.quantity} {self.instrument} ({self.status})"


class Fill(models.Model):
    """One execution against one position: a flip is two fills (the closing and the opening
    part), each with its share of the fee."""

    class Liquidity(models.TextChoices):
        MAKER = "MAKER", "Maker"
        TAKER = "TAKER", "Taker"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="fills")
    position = models.ForeignKey(Position, on_delete=models.PROTECT, related_name="fills")
    price = price_field()
    quantity = quantity_field()
    fee = money_field()
    realized_pnl = money_field(default=0)
    liquidity = models.CharField(max_length=5, choices=Liquidity.choices)
    # the ledger entries of the fill (or of the liquidation it closed in); none before journals
    journal = models.ForeignKey(
        "trading.Journal", null=True, on_delete=models.PROTECT, related_name="fills"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="fill_quantity_positive"),
            models.CheckConstraint(condition=Q(price__gt=0), name="fill_price_positive"),
            models.CheckConstraint(condition=Q(fee__gte=0), name="fill_fee_not_negative"),
        ]

    def __str__(self):
        return f"{self.quantity} @ {self.price}"
