"""HTML views, thin: they read a form, call one service or selector, and render or redirect.
A refusal (an ApplicationError) is shown inline with its 4xx status, and nothing changed.

markets.py     the markets page, /healthz
trade.py       the trade page, the confirmation step, the live mark and candles
leverage.py    the trade page's leverage form (post/redirect/get, refusals as messages)
positions.py   /portfolio, closing positions, isolated margin add/remove
history.py     open orders and cancel, order/trade history, ledger (+ CSV), liquidations
notifications  the liquidation banner's dismissal
"""
