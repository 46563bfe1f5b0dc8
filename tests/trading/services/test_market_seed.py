import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from tests.builders import bracket_rows
from tests.conftest import REPO_DIR
from trading.engine import Bracket
from trading.errors import InvalidBrackets
from trading.models import Instrument, LedgerAccount, LeverageBracket
from trading.services import instrument_create, market_seed
from trading.services.instruments import MARKET_SEED_FILE

pytestmark = pytest.mark.django_db

SHARED_BRACKETS = REPO_DIR.parent / "shared" / "vectors" / "brackets_binance_2024.json"


@pytest.mark.usefixtures("no_market")
def test_the_demo_market_seeds_books_that_look_like_majors():
    market_seed(seed_file=REPO_DIR / "trading" / "seed" / "market.json")

    books = Instrument.objects.order_by("symbol").values_list(
        "symbol",
        "book_half_spread_ticks",
        "book_level_ticks",
        "book_level_quantity",
        "book_max_slippage_rate",
    )
    assert list(books) == [
        ("BTCUSDT", 1, 1, Decimal("2"), Decimal("0.05")),
        ("BTCUSDT-BYBIT", 1, 1, Decimal("2"), Decimal("0.05")),
        ("BTCUSDT-HL", 1, 1, Decimal("2"), Decimal("0.05")),
        ("ETHUSDT", 1, 1, Decimal("20"), Decimal("0.05")),
        ("SOLUSDT", 1, 1, Decimal("500"), Decimal("0.05")),
    ]


@pytest.mark.usefixtures("no_market")
def test_the_demo_market_has_one_btc_instrument_on_each_venues_rules():
    market_seed(seed_file=REPO_DIR / "trading" / "seed" / "market.json")

    venues = Instrument.objects.filter(base_asset="BTC").order_by("symbol")
    assert [(i.symbol, i.venue, i.max_leverage, i.liquidation_fee_rate) for i in venues] == [
        ("BTCUSDT", "BINANCE", 125, Decimal("0.0125")),
        ("BTCUSDT-BYBIT", "BYBIT", 100, Decimal("0")),
        ("BTCUSDT-HL", "HYPERLIQUID", 40, Decimal("0")),
    ]
    # Bybit's risk limits: 0.5 % up to 2,000,000, then 0.56 % less a deduction of 1,200
    assert bracket_rows("BTCUSDT-BYBIT")[:2] == [
        (1, 0, 2000000, 100, Decimal("0.005"), 0),
        (2, 2000000, 2600000, 90, Decimal("0.0056"), 1200),
    ]
    # Hyperliquid's: half the initial margin rate at 40x, then at 20x above 150,000,000, the
    # deduction 150,000,000 x (0.025 - 0.0125)
    assert bracket_rows("BTCUSDT-HL") == [
        (1, 0, 150000000, 40, Decimal("0.0125"), 0),
        (2, 150000000, 1000000000, 20, Decimal("0.025"), 1875000),
    ]


@pytest.mark.usefixtures("no_market")
def test_seed_market_creates_btc_eth_and_sol_with_their_brackets(capsys):
    call_command("seed_market")

    assert capsys.readouterr().out == (
        "Created instruments: BTCUSDT, ETHUSDT, SOLUSDT\n"
        "Insurance fund given its capital of 1000000 USDT.\n"
    )
    assert LedgerAccount.objects.get(kind="INSURANCE_FUND").balance == Decimal("1000000")
    btc = Instrument.objects.get(symbol="BTCUSDT")
    assert (btc.base_asset, btc.quote_asset, btc.status) == ("BTC", "USDT", "TRADING")
    assert (btc.tick_size, btc.step_size, btc.min_quantity, btc.min_notional) == (
        Decimal("0.1"),
        Decimal("0.001"),
        Decimal("0.001"),
        Decimal("100"),
    )
    assert (btc.max_leverage, btc.default_leverage) == (125, 20)
    assert (btc.taker_fee_rate, btc.maker_fee_rate) == (Decimal("0.0005"), Decimal("0.0002"))
    assert btc.liquidation_fee_rate == Decimal("0.0125")
    # the suite seeds its market with a flat book (tests/conftest.py)
    assert (btc.book_half_spread_ticks, btc.book_level_quantity) == (0, Decimal("1000000"))
    btc_brackets = bracket_rows("BTCUSDT")
    assert len(btc_brackets) == 12
    assert btc_brackets[0] == (1, 0, 50000, 125, Decimal("0.004"), 0)
    assert btc_brackets[2] == (3, 600000, 3000000, 75, Decimal("0.0065"), 950)
    assert btc_brackets[-1] == (12, 1200000000, 1800000000, 1, Decimal("0.5"), 421481450)
    assert len(bracket_rows("ETHUSDT")) == 12
    assert bracket_rows("ETHUSDT")[4] == (5, 12000000, 50000000, 25, Decimal("0.02"), 131450)
    sol = Instrument.objects.get(symbol="SOLUSDT")
    assert (sol.max_leverage, sol.step_size, sol.liquidation_fee_rate) == (
        75,
        Decimal("1"),
        Decimal("0.015"),
    )
    assert bracket_rows("SOLUSDT")[1] == (2, 5000, 50000, 50, Decimal("0.01"), 25)
    assert LeverageBracket.objects.count() == 12 + 12 + 10


@pytest.mark.usefixtures("no_market")
def test_seed_market_run_twice_changes_nothing(capsys):
    call_command("seed_market")
    before = list(Instrument.objects.values()), list(LeverageBracket.objects.values())
    capsys.readouterr()

    call_command("seed_market")

    assert capsys.readouterr().out == "Demo market already loaded; nothing changed.\n"
    assert (list(Instrument.objects.values()), list(LeverageBracket.objects.values())) == before


def test_seed_market_keeps_an_operators_changes_to_an_existing_instrument():
    market_seed()
    Instrument.objects.filter(symbol="ETHUSDT").update(taker_fee_rate=Decimal("0.0004"))

    created = market_seed()

    assert created == []
    assert Instrument.objects.get(symbol="ETHUSDT").taker_fee_rate == Decimal("0.0004")


def test_seed_market_recreates_only_a_missing_instrument():
    market_seed()
    Instrument.objects.filter(symbol="SOLUSDT").delete()

    created = market_seed()

    assert created == ["SOLUSDT"]
    assert Instrument.objects.count() == 3
    assert LeverageBracket.objects.filter(instrument__symbol="SOLUSDT").count() == 10


def test_project_copy_of_the_btc_and_eth_brackets_equals_the_reference_file():
    if not SHARED_BRACKETS.exists():
        pytest.skip(f"reference file not beside the checkout: {SHARED_BRACKETS}")
    reference = json.loads(SHARED_BRACKETS.read_text())["brackets"]
    instruments = json.loads(MARKET_SEED_FILE.read_text())["instruments"]
    seed = {spec["symbol"]: spec["brackets"] for spec in instruments}

    assert seed["BTCUSDT"] == reference["BTCUSDT_2024"]
    assert seed["ETHUSDT"] == reference["ETHUSDT_2024"]


@pytest.mark.usefixtures("no_market")
def test_instrument_create_refuses_a_bracket_table_with_a_gap_and_writes_nothing():
    brackets = [
        Bracket(Decimal(0), Decimal(50000), 125, Decimal("0.004"), Decimal(0)),
        Bracket(Decimal(60000), Decimal(600000), 100, Decimal("0.005"), Decimal(50)),
    ]

    with pytest.raises(InvalidBrackets, match="Bracket 2 must start where bracket 1 ends"):
        instrument_create(
            symbol="XRPUSDT",
            base_asset="XRP",
            quote_asset="USDT",
            tick_size=Decimal("0.0001"),
            step_size=Decimal("0.1"),
            min_quantity=Decimal("0.1"),
            min_notional=Decimal("5"),
            default_leverage=20,
            taker_fee_rate=Decimal("0.0005"),
            maker_fee_rate=Decimal("0.0002"),
            liquidation_fee_rate=Decimal("0.0125"),
            brackets=brackets,
        )

    assert not Instrument.objects.exists()
    assert not LeverageBracket.objects.exists()
