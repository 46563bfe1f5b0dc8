"""Price feeds: where the next mark prices come from, chosen by the PRICE_FEED setting.

    simulated  a seeded geometric random walk with jumps (the default; works offline)
    replay     a CSV file of marks played at N x speed (samples/crash.csv ships with the project)
    live       Binance USD-M public mark prices through ccxt
    manual     none: marks move only when the operator sets them

The contract is in feeds.py; prices_tick (trading/services/ticks.py) runs a feed and writes what
it answers. Whatever the feed, an operator's held price is never overwritten.
"""

from trading.prices.feeds import FEEDS, FeedError, InstrumentMark, PriceFeed, feed_get

__all__ = ["FEEDS", "FeedError", "InstrumentMark", "PriceFeed", "feed_get"]
