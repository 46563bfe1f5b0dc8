"""The stock freqtrade the bot tests and the benchmark run: the pinned version, in a virtualenv
of its own, and its configuration for marginsite (docs/bots.md's).

freqtrade brings its own pins (pandas, numpy, SQLAlchemy, ccxt, ...) that must not leak into the
project's dependencies, so it lives in ``var/freqtrade-venv`` (or FREQTRADE_VENV), made on first
use with ``pip install freqtrade==2026.9``; later runs find it and reuse it.
"""

import functools
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from tests.conftest import REPO_DIR
from trading.models import MarkPrice, PriceCandle

FREQTRADE_VERSION = "2026.9"
VENV_DIR = Path(os.environ.get("FREQTRADE_VENV", REPO_DIR / "var" / "freqtrade-venv"))
FREQTRADE = VENV_DIR / "bin" / "freqtrade"
INSTALL_TIMEOUT_SECONDS = 900
STRATEGIES_DIR = Path(__file__).resolve().parent / "strategies"


def installed_version() -> str | None:
    if not FREQTRADE.exists():
        return None
    answer = subprocess.run(
        [FREQTRADE, "--version"], capture_output=True, text=True, timeout=120, check=False
    )
    # "Freqtrade Version:\tfreqtrade 2026.9", after the Python and CCXT versions
    found = re.search(r"^Freqtrade Version:\s+freqtrade (\S+)$", answer.stdout, re.MULTILINE)
    return found[1] if found else None


@functools.cache
def freqtrade_unavailable() -> str | None:
    """None once the pinned freqtrade runs; else why it could not be installed. Cached: the
    install (minutes on a cold pip cache) happens once per test session."""
    if installed_version() == FREQTRADE_VERSION:
        return None
    try:
        if not (VENV_DIR / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", VENV_DIR], check=True, timeout=120)
        subprocess.run(
            [
                *(VENV_DIR / "bin" / "python", "-m", "pip", "install", "--quiet"),
                f"freqtrade=={FREQTRADE_VERSION}",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_SECONDS,
        )
    except (OSError, subprocess.SubprocessError) as error:
        output = getattr(error, "stderr", "") or ""
        return f"could not install freqtrade {FREQTRADE_VERSION} in {VENV_DIR}: {error} {output}"
    if (version := installed_version()) != FREQTRADE_VERSION:
        return f"{FREQTRADE} reports version {version}, not {FREQTRADE_VERSION}"
    return None


def freqtrade_config(*, site_url: str, key: str, secret: str, margin_mode: str) -> dict:
    """docs/bots.md's freqtrade configuration: live futures on exchange "binance", every Binance
    URL ccxt could use pointed at marginsite, spot markets and wallet currencies not asked for,
    and no data downloads from Binance's public archive."""
    fapi = f"{site_url}/fapi"
    return {
        "trading_mode": "futures",
        "margin_mode": margin_mode,
        "dry_run": False,
        "stake_currency": "USDT",
        "stake_amount": 200,
        "max_open_trades": 2,
        "timeframe": "1m",
        "entry_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "exit_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "order_types": {
            "entry": "market",
            "exit": "market",
            "stoploss": "market",
            "stoploss_on_exchange": False,
        },
        "unfilledtimeout": {"entry": 1, "exit": 1, "unit": "minutes"},
        "exchange": {
            "name": "binance",
            "key": key,
            "secret": secret,
            "only_from_ccxt": True,
            "ccxt_config": {
                "urls": {
                    "api": {
                        "fapiPublic": f"{fapi}/v1",
                        "fapiPublicV2": f"{fapi}/v2",
                        "fapiPublicV3": f"{fapi}/v3",
                        "fapiPrivate": f"{fapi}/v1",
                        "fapiPrivateV2": f"{fapi}/v2",
                        "fapiPrivateV3": f"{fapi}/v3",
                        "fapiData": f"{site_url}/futures/data",
                    }
                },
                "options": {"fetchCurrencies": False, "fetchMarkets": {"types": ["linear"]}},
            },
            "pair_whitelist": ["BTC/USDT:USDT", "ETH/USDT:USDT"],
        },
        "pairlists": [{"method": "StaticPairList"}],
        "initial_state": "running",
    }


def candle_history_seed() -> None:
    """Half an hour of one-minute candles at the seed marks, as a running site would have: the
    strategy reads closed candles from its first minute on (and freqtrade warns of none)."""
    minute = timezone.now().replace(second=0, microsecond=0)
    for mark in MarkPrice.objects.all():
        PriceCandle.objects.bulk_create(
            PriceCandle(
                instrument=mark.instrument,
                opened_at=minute - timedelta(minutes=age),
                open=mark.price,
                high=mark.price,
                low=mark.price,
                close=mark.price,
            )
            for age in range(1, 31)
        )
