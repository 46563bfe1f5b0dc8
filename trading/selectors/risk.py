"""Which accounts the sweep must look at, found by set-based SQL that never loads every position.

An account is due when one of its open positions' marks has reached that position's watch price
(trading/engine/watch.py: until then the account cannot be liquidatable), when a position has no
watch price yet, or when the account changed since its watch prices were computed
(``Wallet.sweep_due``). Each part is an index range: the cost of a tick is the positions near
their watch prices, not all of them. The query only nominates: each account is then locked and
re-checked exactly by the engine.
"""

from django.db import connection

from trading.domain.triggers import triggers_sql

ACCOUNTS_DUE = """
    SELECT p.user_id FROM trading_position p
    JOIN trading_markprice mark ON mark.instrument_id = p.instrument_id
    WHERE p.status = 'OPEN' AND p.side = 'LONG' AND p.watch_price >= mark.price
        AND p.user_id %% %(shards)s = %(shard)s
    UNION
    SELECT p.user_id FROM trading_position p
    JOIN trading_markprice mark ON mark.instrument_id = p.instrument_id
    WHERE p.status = 'OPEN' AND p.side = 'SHORT' AND p.watch_price <= mark.price
        AND p.user_id %% %(shards)s = %(shard)s
    UNION
    SELECT p.user_id FROM trading_position p
    WHERE p.status = 'OPEN' AND p.watch_price IS NULL AND p.user_id %% %(shards)s = %(shard)s
    UNION
    SELECT w.user_id FROM trading_wallet w
    WHERE w.sweep_due AND w.user_id %% %(shards)s = %(shard)s
"""

ORDERS_TRIGGERED = f"""
    SELECT o.id, o.user_id FROM trading_order o
    JOIN trading_markprice mark ON mark.instrument_id = o.instrument_id
    WHERE o.status = 'NEW' AND o.user_id %% %(shards)s = %(shard)s
        AND {triggers_sql(order="o", mark="mark")}
"""


def _rows(sql: str, shard: int, shards: int) -> list[tuple]:
    """Accounts are split by user id, so that shards are disjoint and each account has one."""
    with connection.cursor() as cursor:
        cursor.execute(sql, {"shard": shard, "shards": shards})
        return cursor.fetchall()


def accounts_due(*, shard: int = 0, shards: int = 1) -> list[int]:
    """User ids of the accounts the sweep must re-check (see the module)."""
    return [user_id for (user_id,) in _rows(ACCOUNTS_DUE, shard, shards)]


def orders_triggered(*, shard: int = 0, shards: int = 1) -> list[tuple[int, int]]:
    """(order id, user id) of open orders whose price or stop the mark crossed."""
    return _rows(ORDERS_TRIGGERED, shard, shards)
