"""Template filters that format Decimal figures without ever going through float."""

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def percent(rate: Decimal) -> str:
    """0.0005 -> "0.05": a rate as a percentage, all its digits, no trailing zeros."""
    return format((rate * 100).normalize(), "f")


@register.filter
def grouped(amount: Decimal) -> str:
    """1200000000.00000000 -> "1,200,000,000": thousands separators, no trailing zeros."""
    return format(amount.normalize(), ",f")
