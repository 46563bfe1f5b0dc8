"""State-changing use cases. Each runs in its own durable transaction."""

from trading.services.heartbeats import heartbeat_record
from trading.services.instruments import instrument_create, market_seed

__all__ = ["heartbeat_record", "instrument_create", "market_seed"]
