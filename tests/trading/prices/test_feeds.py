"""PRICE_FEED chooses the feed; the settings refuse a feed or a figure that cannot work."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from tests.conftest import REPO_DIR
from trading.prices import FEEDS, feed_get
from trading.prices.live import LiveFeed
from trading.prices.manual import ManualFeed
from trading.prices.replay import ReplayFeed
from trading.prices.simulated import SimulatedFeed


@pytest.mark.parametrize(
    ("name", "feed_class", "source"),
    [
        ("simulated", SimulatedFeed, "simulated"),
        ("replay", ReplayFeed, "replay"),
        ("live", LiveFeed, "live"),
        ("manual", ManualFeed, "manual"),
    ],
)
def test_price_feed_setting_chooses_the_feed(settings, name, feed_class, source):
    settings.PRICE_FEED = name

    feed = feed_get()

    assert isinstance(feed, feed_class)
    assert feed.source == source


def test_the_default_feed_is_the_simulated_one_configured_from_settings(settings):
    feed = feed_get("simulated")

    assert feed.seed == settings.PRICE_SIMULATION_SEED
    assert feed.parameters.volatility == settings.PRICE_SIMULATION_VOLATILITY
    assert feed.tick_seconds == settings.PRICE_TICK_SECONDS


def test_an_unknown_feed_is_a_configuration_error(settings):
    settings.PRICE_FEED = "oracle"

    with pytest.raises(ImproperlyConfigured, match="PRICE_FEED must be one of simulated"):
        feed_get()


@pytest.fixture
def settings_load():
    """settings_load({"PRICE_FEED": ...}): the settings loaded and checked (`manage.py check`, as
    every management command does, `make run`'s migrate first) in a fresh interpreter with that
    environment."""

    def load(environment: dict) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "check"],
            cwd=REPO_DIR,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "marginsite.settings",
                "DJANGO_SECRET_KEY": settings.SECRET_KEY,
                **environment,
            },
            capture_output=True,
            text=True,
            check=False,
        )

    return load


def test_the_settings_accept_exactly_the_feeds_there_are(settings_load):
    for name in FEEDS:
        assert settings_load({"PRICE_FEED": name}).returncode == 0, name


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"PRICE_FEED": "oracle"}, "PRICE_FEED must be simulated, replay, live or manual"),
        ({"PRICE_SIMULATION_VOLATILITY": "high"}, "PRICE_SIMULATION_VOLATILITY must be a decimal"),
        ({"PRICE_TICK_SECONDS": "0"}, "PRICE_TICK_SECONDS must be above 0"),
        ({"PRICE_SIMULATION_JUMP_SIZE": "1"}, "PRICE_SIMULATION_JUMP_SIZE must be at least 0"),
        ({"PRICE_REPLAY_SPEED": "-2"}, "PRICE_REPLAY_SPEED must be above 0"),
        ({"PRICE_SIMULATION_DRIFT": "inf"}, "PRICE_SIMULATION_DRIFT must be a decimal"),
    ],
)
def test_the_settings_refuse_a_price_setting_that_cannot_work(settings_load, environment, message):
    loaded = settings_load(environment)

    assert loaded.returncode != 0
    assert message in loaded.stderr
