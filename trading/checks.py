"""System checks of the settings' values: each names the variable and what it must be.

Every management command runs them (`make run` migrates first, so a bad value stops the start
with this message); the settings themselves only parse the values.
"""

from django.conf import settings
from django.core.checks import Error, register

from trading.prices.feeds import FEEDS


def _one_of(names) -> str:
    *others, last = names
    return f"{', '.join(others)} or {last}"


def _rules() -> tuple[tuple[str, bool, str], ...]:
    """(variable, holds, what it must be) for every value with a range."""
    return (
        ("PRICE_FEED", settings.PRICE_FEED in FEEDS, _one_of(FEEDS)),
        ("PRICE_TICK_SECONDS", settings.PRICE_TICK_SECONDS > 0, "above 0"),
        ("PRICE_CANDLE_RETENTION_DAYS", settings.PRICE_CANDLE_RETENTION_DAYS >= 1, "at least 1"),
        ("PRICE_SIMULATION_VOLATILITY", settings.PRICE_SIMULATION_VOLATILITY >= 0, "at least 0"),
        (
            "PRICE_SIMULATION_JUMP_PROBABILITY",
            0 <= settings.PRICE_SIMULATION_JUMP_PROBABILITY <= 1,
            "0 to 1",
        ),
        (
            "PRICE_SIMULATION_JUMP_SIZE",
            0 <= settings.PRICE_SIMULATION_JUMP_SIZE < 1,
            "at least 0, below 1",
        ),
        ("PRICE_REPLAY_SPEED", settings.PRICE_REPLAY_SPEED > 0, "above 0"),
        ("PRICE_LIVE_TIMEOUT_SECONDS", settings.PRICE_LIVE_TIMEOUT_SECONDS > 0, "above 0"),
        ("SWEEP_SHARDS", settings.SWEEP_SHARDS >= 1, "at least 1"),
        ("HEARTBEAT_INTERVAL_SECONDS", settings.HEARTBEAT_INTERVAL.total_seconds() > 0, "above 0"),
        ("FUNDING_INTERVAL_MINUTES", settings.FUNDING_INTERVAL.total_seconds() > 0, "above 0"),
        ("PAPER_STARTING_BALANCE", settings.PAPER_STARTING_BALANCE >= 0, "at least 0"),
        ("INSURANCE_FUND_CAPITAL", settings.INSURANCE_FUND_CAPITAL >= 0, "at least 0"),
    )


@register()
def settings_values_check(app_configs, **kwargs) -> list[Error]:
    return [
        Error(f"{name} must be {rule}.", id="marginsite.E001")
        for name, holds, rule in _rules()
        if not holds
    ]
