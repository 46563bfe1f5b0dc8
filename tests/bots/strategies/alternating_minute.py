"""A freqtrade strategy that exercises a futures venue, not a market view: on every pair it enters
at once, the other way from its last closed trade there (long first), and exits 15 seconds after
the next whole minute.

Funding times fall on whole minutes in the acceptance test (FUNDING_INTERVAL_MINUTES=1), so every
trade is held across exactly one of them and closed well after it has settled: the venue's
payment is in place when freqtrade reads its funding income at the exit.
"""

from datetime import datetime, timedelta

from freqtrade.persistence import Trade
from freqtrade.strategy import IStrategy
from pandas import DataFrame

SETTLED_AFTER = timedelta(seconds=15)


def last_trade_was_long(pair: str) -> bool:
    closed = Trade.get_trades_proxy(pair=pair, is_open=False)
    return bool(closed) and not max(closed, key=lambda trade: trade.close_date_utc).is_short


class AlternatingMinute(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1m"
    can_short = True
    # never a profit or loss exit: only custom_exit closes trades
    minimal_roi = {"0": 100}
    stoploss = -0.99
    # custom_exit is asked only when exit signals are used; populate_exit_trend gives none
    use_exit_signal = True
    process_only_new_candles = False
    startup_candle_count = 0

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        side = "enter_short" if last_trade_was_long(metadata["pair"]) else "enter_long"
        dataframe[side] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def leverage(self, pair: str, current_time: datetime, *args, **kwargs) -> float:
        return 3

    def custom_exit(self, pair: str, trade, current_time: datetime, *args, **kwargs):
        opened = trade.open_date_utc
        next_minute = opened.replace(second=0, microsecond=0) + timedelta(minutes=1)
        if current_time >= next_minute + SETTLED_AFTER:
            return "held_a_minute"
        return None
