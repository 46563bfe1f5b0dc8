"""The native API's endpoints: thin, each parses its input, calls one service or selector and
serializes the answer. Refusals are raised by the services and shaped by errors.py."""

from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from trading.api.serializers import (
    AccountSerializer,
    InstrumentSerializer,
    OrderPreviewSerializer,
    OrderRequestSerializer,
    OrderSerializer,
    PositionSerializer,
)
from trading.models import Order
from trading.selectors import account_summary, instrument_get, instrument_list, position_list
from trading.services import order_cancel, order_place, order_preview


class InstrumentList(generics.ListAPIView):
    """Every instrument with its tick and step sizes, fees and leverage brackets."""

    serializer_class = InstrumentSerializer
    pagination_class = None

    def get_queryset(self):
        return instrument_list()


class InstrumentDetail(APIView):
    def get(self, request, symbol):
        return Response(InstrumentSerializer(instrument_get(symbol)).data)


class Account(APIView):
    """Wallet, cross margin balance and ratio, available balance, isolated margin, equity."""

    def get(self, request):
        return Response(AccountSerializer(account_summary(user=request.user)).data)


def _order_request(request) -> dict:
    body = OrderRequestSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    return dict(body.validated_data)


class Orders(generics.ListAPIView):
    """GET: the user's orders, newest first (``?status=NEW`` for the open ones). POST: place
    one (idempotent on ``client_order_id``)."""

    serializer_class = OrderSerializer

    def get_queryset(self):
        orders = Order.objects.filter(user=self.request.user).select_related("instrument")
        if wanted := self.request.query_params.get("status"):
            orders = orders.filter(status=wanted.upper())
        return orders.order_by("-created_at", "-pk")

    def post(self, request):
        order = order_place(user=request.user, **_order_request(request))
        return Response(OrderSerializer(order).data, status=status.HTTP_201_CREATED)


class OrderPreview(APIView):
    """What the order would do in each margin mode; places nothing."""

    def post(self, request):
        arguments = _order_request(request)
        for placing_only in ("reduce_only", "client_order_id"):
            arguments.pop(placing_only)
        preview = order_preview(user=request.user, **arguments)
        return Response(OrderPreviewSerializer(preview).data)


class OrderDetail(APIView):
    """GET: one of the user's orders. DELETE: cancel it (an open one)."""

    def get(self, request, order_id):
        order = generics.get_object_or_404(
            Order.objects.select_related("instrument"), pk=order_id, user=request.user
        )
        return Response(OrderSerializer(order).data)

    def delete(self, request, order_id):
        return Response(OrderSerializer(order_cancel(user=request.user, order_id=order_id)).data)


class Positions(APIView):
    """The user's open positions with their live figures (both modes)."""

    def get(self, request):
        return Response(PositionSerializer(position_list(user=request.user), many=True).data)
