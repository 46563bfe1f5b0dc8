"""Which accounts the sweep must look at, found with set-based SQL over all open positions, so the
sweep never loads every position into Python on a tick.

Each open position is joined with its instrument's mark and, by its notional (computed once),
with its bracket: floor <= notional < cap, the last tier open-ended, which for a validated
(contiguous) table is the "highest floor <= notional" rule. uPnL and maintenance margin are
computed in the database and cross accounts aggregated per user against the wallet, in one pass.
It is SQL rather than the ORM because a correlated subquery per position made the scan tens of
times slower than these joins (benchmarks/sweep.py). The query only nominates candidates: each is
then locked and re-checked exactly by the engine.
"""

from django.db import connection

# Candidates are compared in double precision, with a margin that keeps an account right at its
# threshold in the list: floats are an order of magnitude faster than exact numerics here, and the
# engine re-checks every candidate exactly before anything happens to it.
RELATIVE_TOLERANCE = 1e-6
ABSOLUTE_TOLERANCE = 1e-6

FIGURES = """
    WITH pos AS MATERIALIZED (
        SELECT p.id, p.user_id, p.margin_mode, p.instrument_id,
               CAST(p.isolated_margin AS DOUBLE PRECISION) AS margin,
               CAST(p.quantity AS DOUBLE PRECISION) * CAST(m.price AS DOUBLE PRECISION)
                   AS notional,
               CASE WHEN p.side = 'LONG' THEN 1.0 ELSE -1.0 END
                   * CAST(p.quantity AS DOUBLE PRECISION)
                   * (CAST(m.price AS DOUBLE PRECISION) - CAST(p.entry_price AS DOUBLE PRECISION))
                   AS upnl
        FROM trading_position p
        JOIN trading_markprice m ON m.instrument_id = p.instrument_id
        WHERE p.status = 'OPEN' AND p.user_id %% %(shards)s = %(shard)s
    ), tiers AS (
        SELECT b.instrument_id,
               CAST(b.notional_floor AS DOUBLE PRECISION) AS floor,
               CASE WHEN b.tier = last.tier THEN NULL
                    ELSE CAST(b.notional_cap AS DOUBLE PRECISION) END AS cap,
               CAST(b.maintenance_margin_rate AS DOUBLE PRECISION) AS rate,
               CAST(b.maintenance_amount AS DOUBLE PRECISION) AS amount
        FROM trading_leveragebracket b
        JOIN (SELECT instrument_id, max(tier) AS tier FROM trading_leveragebracket
              GROUP BY instrument_id) last ON last.instrument_id = b.instrument_id
    ), figures AS MATERIALIZED (
        SELECT pos.id, pos.user_id, pos.margin_mode, pos.margin, pos.upnl,
               pos.notional * tiers.rate - tiers.amount AS mm
        FROM pos JOIN tiers ON tiers.instrument_id = pos.instrument_id
            AND tiers.floor <= pos.notional AND (tiers.cap IS NULL OR pos.notional < tiers.cap)
    )
"""

AT_RISK = (
    FIGURES
    + """
    SELECT 'ISOLATED', id, user_id FROM figures
    WHERE margin_mode = 'ISOLATED' AND margin + upnl <= mm * %(relative)s + %(absolute)s
    UNION ALL
    SELECT 'CROSS', NULL, figures.user_id FROM figures
    JOIN trading_wallet wallet ON wallet.user_id = figures.user_id
    WHERE figures.margin_mode = 'CROSS'
    GROUP BY figures.user_id, wallet.balance
    HAVING sum(figures.mm) > 0
        AND CAST(wallet.balance AS DOUBLE PRECISION) + sum(figures.upnl)
            <= sum(figures.mm) * %(relative)s + %(absolute)s
"""
)

ORDERS_TRIGGERED = """
    SELECT o.id, o.user_id FROM trading_order o
    JOIN trading_markprice mark ON mark.instrument_id = o.instrument_id
    WHERE o.status = 'NEW' AND o.user_id %% %(shards)s = %(shard)s AND (
        (o.order_type = 'LIMIT' AND o.side = 'BUY' AND mark.price <= o.price)
        OR (o.order_type = 'LIMIT' AND o.side = 'SELL' AND mark.price >= o.price)
        OR (o.order_type = 'STOP_MARKET' AND o.side = 'BUY' AND mark.price >= o.stop_price)
        OR (o.order_type = 'STOP_MARKET' AND o.side = 'SELL' AND mark.price <= o.stop_price)
        OR (o.order_type = 'TAKE_PROFIT_MARKET' AND o.side = 'BUY' AND mark.price <= o.stop_price)
        OR (o.order_type = 'TAKE_PROFIT_MARKET' AND o.side = 'SELL' AND mark.price >= o.stop_price)
    )
"""


def _rows(sql: str, shard: int, shards: int) -> list[tuple]:
    """Accounts are split by user id, so that shards are disjoint and each account has one."""
    parameters = {
        "shard": shard,
        "shards": shards,
        "relative": 1 + RELATIVE_TOLERANCE,
        "absolute": ABSOLUTE_TOLERANCE,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        return cursor.fetchall()


def accounts_at_risk(*, shard: int = 0, shards: int = 1) -> tuple[list[tuple[int, int]], list[int]]:
    """In one pass over the open positions: (position id, user id) of isolated positions whose
    margin + uPnL <= maintenance margin, and user ids whose wallet + cross uPnL <= cross
    maintenance margin (above 0)."""
    isolated, cross = [], []
    for kind, position_id, user_id in _rows(AT_RISK, shard, shards):
        if kind == "ISOLATED":
            isolated.append((position_id, user_id))
        else:
            cross.append(user_id)
    return isolated, cross


def orders_triggered(*, shard: int = 0, shards: int = 1) -> list[tuple[int, int]]:
    """(order id, user id) of open orders whose price or stop the mark crossed."""
    return _rows(ORDERS_TRIGGERED, shard, shards)
