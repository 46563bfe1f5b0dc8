"""The real BTCUSDT and ETHUSDT 2024 bracket tables, read from the project's copy of the
reference vectors, for engine tests that need a realistic table."""

import json
from pathlib import Path

from trading.engine import brackets_from_rows

VECTORS_FILE = Path(__file__).resolve().parent / "vectors" / "liquidation_cases.json"
TABLES = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))["brackets"]

BTCUSDT = brackets_from_rows(TABLES["BTCUSDT_2024"])
ETHUSDT = brackets_from_rows(TABLES["ETHUSDT_2024"])
