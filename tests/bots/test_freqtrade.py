"""Acceptance: a stock freqtrade 2026.9 in live futures mode (exchange "binance", dry_run false)
trades on marginsite, pointed at it only through its configuration, once in isolated and once in
cross margin, two bots of two users side by side.

The site runs as `make run` runs it (gunicorn, worker, beat) with funding every minute and moving
marks. Each bot trades BTC and ETH with a strategy that re-enters each pair the other way as soon
as it has exited, and exits 15 s after the next whole minute, so each trade holds across one
funding time (tests/bots/strategies/). The test waits until both bots have closed long and short
trades that paid funding (about three minutes), stops them with Ctrl-C, then compares what
freqtrade recorded (its trade database, its log) with marginsite's rows.
"""

import contextlib
import json
import re
import signal
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from accounts.services import api_key_create, user_create
from tests.bots.stock_freqtrade import candle_history_seed, freqtrade_config
from tests.conftest import REPO_DIR
from tests.served import stop
from trading.models import FundingPayment, Position
from trading.services import market_seed

PAIRS = {"BTC/USDT:USDT": "BTCUSDT", "ETH/USDT:USDT": "ETHUSDT"}
RUN_SECONDS = 300
# freqtrade's log line: "<date> <time> - <logger> - <LEVEL> - <message>". Any warning or error
# fails the test, not only those of freqtrade.exchange and ccxt: the bot's loop, wallet and
# persistence report what the exchange answered under their own names, and a clean run has none.
PROBLEM = re.compile(r"^\S+ \S+ - \S+ - (WARNING|ERROR|CRITICAL) - ")


def bot_trades(bot, *, closed: bool = True) -> list[sqlite3.Row]:
    """The bot's trades as freqtrade recorded them (all of them with ``closed=False``); none
    while freqtrade has not yet made its database."""
    if not bot.database.exists():
        return []
    with contextlib.closing(sqlite3.connect(bot.database, timeout=10)) as connection:
        connection.row_factory = sqlite3.Row
        if not connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'trades'").fetchone():
            return []
        return connection.execute(
            "SELECT pair, is_short, leverage, open_date, funding_fees, exit_reason FROM trades"
            " WHERE is_open = 0 OR NOT ? ORDER BY pair, open_date",
            (closed,),
        ).fetchall()


def traded_enough(bot) -> bool:
    """A long and a short closed, and funding paid or received on a closed trade."""
    trades = bot_trades(bot)
    sides = {trade["is_short"] for trade in trades}
    return sides == {0, 1} and any(trade["funding_fees"] for trade in trades)


def log_problems(lines: list[str]) -> list[str]:
    return [line for line in lines if PROBLEM.search(line)]


def position_of(trade: sqlite3.Row, positions: list[Position]) -> Position:
    """The position a trade opened: same symbol, opened within seconds of the trade (freqtrade
    records its open date when it sends the market order, which fills at once)."""
    opened = datetime.fromisoformat(trade["open_date"]).replace(tzinfo=UTC)
    found = [
        position
        for position in positions
        if position.instrument.symbol == PAIRS[trade["pair"]]
        and abs(position.opened_at - opened) < timedelta(seconds=5)
    ]
    assert len(found) == 1, (trade["pair"], opened, [p.opened_at for p in positions])
    return found[0]


@pytest.mark.redis
@pytest.mark.freqtrade
def test_stock_freqtrade_trades_live_futures_in_isolated_and_cross_margin(marginsite, freqtrade):
    market_seed()
    candle_history_seed()
    users, keys = {}, {}
    for mode in ("isolated", "cross"):
        users[mode] = user_create(username=f"freqtrade-{mode}", password="pw-0123456789")
        keys[mode] = api_key_create(user=users[mode], name="freqtrade", permission="TRADING")
    site = marginsite()

    bots = {
        mode: freqtrade(
            mode,
            freqtrade_config(
                site_url=site.url,
                key=keys[mode].api_key.key,
                secret=keys[mode].secret,
                margin_mode=mode,
            ),
        )
        for mode in keys
    }
    deadline = time.monotonic() + RUN_SECONDS
    while not all(traded_enough(bot) for bot in bots.values()):
        for bot in bots.values():
            assert bot.process.poll() is None, f"freqtrade ({bot.name}) exited:\n" + "\n".join(
                bot.log_lines()[-30:]
            )
            assert not log_problems(bot.log_lines()), "\n".join(log_problems(bot.log_lines()))
        assert time.monotonic() < deadline, {mode: bot_trades(bot) for mode, bot in bots.items()}
        time.sleep(2)
    # the log of the run: Ctrl-C may land in the middle of an exit, and freqtrade's shutdown
    # then reports the interrupted write (its own, not the exchange's)
    run_logs = {mode: bot.log_lines() for mode, bot in bots.items()}
    for bot in bots.values():
        stop(bot.process, signal.SIGINT)

    requests = site.requests()
    for mode, bot in bots.items():
        user, key = users[mode], keys[mode].api_key.key
        assert log_problems(run_logs[mode]) == [], "\n".join(log_problems(run_logs[mode]))
        assert any("Changing state to: RUNNING" in line for line in run_logs[mode])

        # every trade is a position of the bot's margin mode on marginsite, on its side, at the
        # strategy's leverage, closed with the trade; its funding is marginsite's payments
        trades = bot_trades(bot)
        positions = list(Position.objects.filter(user=user).select_related("instrument"))
        assert {position.margin_mode for position in positions} == {mode.upper()}
        for trade in trades:
            position = position_of(trade, positions)
            assert position.status == Position.Status.CLOSED
            assert position.side == ("SHORT" if trade["is_short"] else "LONG")
            assert (trade["leverage"], position.leverage) == (3, 3)
            assert trade["exit_reason"] == "held_a_minute"
            # held across one funding time, it paid or received once; freqtrade's float (ccxt
            # parses the income's decimal string) is marginsite's amount to the last digit
            payment = FundingPayment.objects.get(position=position)
            assert Decimal(repr(trade["funding_fees"])) == payment.amount, (trade, payment)
        assert {trade["pair"] for trade in trades} == set(PAIRS)
        assert any(trade["funding_fees"] for trade in trades)

        # before each entry freqtrade sets the margin type and the leverage; it read the
        # leverage brackets, its positions, its balance and its funding income
        served = [(method, path, status) for method, path, status, _, who in requests if who == key]
        entries = len(bot_trades(bot, closed=False))
        assert served.count(("POST", "/fapi/v1/leverage", 200)) >= entries
        margin_type_posts = [row for row in served if row[:2] == ("POST", "/fapi/v1/marginType")]
        assert len(margin_type_posts) >= entries
        for path in (
            "/fapi/v1/multiAssetsMargin",
            "/fapi/v1/positionSide/dual",
            "/fapi/v1/leverageBracket",
            "/fapi/v3/positionRisk",
            "/fapi/v3/account",
            "/fapi/v1/income",
        ):
            assert ("GET", path, 200) in served, path
        refused = [row for row in served if row[2] >= 400 and row not in margin_type_posts]
        assert refused == []


def test_the_bots_page_shows_the_configuration_this_test_runs():
    page = (REPO_DIR / "docs" / "bots.md").read_text()
    section = page[page.index("## freqtrade: live futures") :]
    block = section[section.index("```json") + len("```json") : section.index("```\n\n")]

    assert json.loads(block) == freqtrade_config(
        site_url="http://127.0.0.1:8000",
        key="<trading key>",
        secret="<its secret>",
        margin_mode="isolated",
    )
