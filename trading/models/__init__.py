from trading.models.heartbeats import Heartbeat
from trading.models.instruments import Instrument, LeverageBracket

__all__ = ["Heartbeat", "Instrument", "LeverageBracket"]
