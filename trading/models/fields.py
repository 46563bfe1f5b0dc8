"""Decimal column shapes shared by every money, price, quantity and rate field, so that no two
tables store the same kind of figure at different precisions."""

from django.db import models


def price_field(**kwargs) -> models.DecimalField:
    """A price or a price step: up to 10^16 with 8 decimals."""
    return models.DecimalField(max_digits=24, decimal_places=8, **kwargs)


def quantity_field(**kwargs) -> models.DecimalField:
    """A quantity of the base asset or a quantity step."""
    return models.DecimalField(max_digits=24, decimal_places=8, **kwargs)


def money_field(**kwargs) -> models.DecimalField:
    """An amount of the quote asset (USDT): balances, margins, notionals, fees."""
    return models.DecimalField(max_digits=28, decimal_places=8, **kwargs)


def rate_field(**kwargs) -> models.DecimalField:
    """A fraction such as a fee or maintenance margin rate (0.0005 = 0.05 %)."""
    return models.DecimalField(max_digits=12, decimal_places=8, **kwargs)
