"""Funding: at each funding time, every position held then pays or receives its notional at that
time x the rate (longs pay shorts when the rate is positive). A settlement is the instrument's
rate and mark of one funding time, made once; a payment, one position's share of it, made once.
The size charged is not stored: it is the position's fills up to the funding time (and the memo
of the payment's ledger entry)."""

from django.conf import settings
from django.db import models

from trading.models.fields import money_field, price_field
from trading.models.instruments import Instrument
from trading.models.positions import Position


class FundingSettlement(models.Model):
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+")
    funding_time = models.DateTimeField()
    rate = models.DecimalField(max_digits=12, decimal_places=8)
    mark_price = price_field()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-funding_time", "instrument"]
        constraints = [
            models.UniqueConstraint(
                fields=["instrument", "funding_time"], name="funding_settlement_once"
            )
        ]

    def __str__(self):
        return f"{self.instrument} {self.funding_time:%Y-%m-%d %H:%M} {self.rate}"


class FundingPayment(models.Model):
    settlement = models.ForeignKey(
        FundingSettlement, on_delete=models.PROTECT, related_name="payments"
    )
    position = models.ForeignKey(Position, on_delete=models.PROTECT, related_name="funding")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="funding_payments"
    )
    amount = money_field(help_text="+ received, - paid")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["settlement", "position"], name="funding_payment_once")
        ]

    def __str__(self):
        return f"{self.user} {self.amount}"
