"""What every page shows a signed-in trader (trading/context_processors.py): the banner of
liquidations not yet seen, its Dismiss, and the warning once the cross margin ratio passes 80 %.

1 BTC cross long at 60,000, 20x (fee 30, wallet 9,970). At a mark of 50,400 its uPnL is -9,600:
cross margin balance 370; maintenance 50,400 x 0.005 - 50 = 202: a ratio of 54.59 %. At 50,300:
balance 270, maintenance 201.5: 74.63 %. At 50,260: balance 230, maintenance 201.3: 87.52 %.
"""

import pytest

from trading.models import Notification
from trading.services import leverage_set, mark_price_set, order_place, sweep_run

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return " ".join(response.content.decode().split())


@pytest.fixture
def cross_long(trader):
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=20)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="CROSS")
    return trader


@pytest.mark.parametrize(("mark", "shown"), [("50400", False), ("50300", False), ("50260", True)])
def test_the_warning_shows_once_the_cross_margin_ratio_passes_80_percent(
    signed_in, cross_long, mark, shown
):
    mark_price_set(symbol="BTCUSDT", price=mark)

    page = text(signed_in.get("/portfolio/"))

    assert ('id="ratio-warning"' in page) is shown
    if shown:
        assert "Your cross margin ratio is 87.52 %" in page


def isolated_long_liquidated(trader):
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="ISOLATED")
    mark_price_set(symbol="BTCUSDT", price="57200")
    sweep_run()


def test_a_liquidation_shows_a_banner_on_every_page_until_dismissed(signed_in, trader):
    isolated_long_liquidated(trader)

    for url in ("/trade/BTCUSDT/", "/portfolio/", "/settings/"):
        page = text(signed_in.get(url))
        assert 'id="liquidation-banner"' in page
        assert "Your BTCUSDT Isolated long was liquidated at mark 57,200." in page

    response = signed_in.post("/notifications/dismiss/", {"next": "/portfolio/"})

    assert response.status_code == 302
    assert response.url == "/portfolio/"
    assert 'id="liquidation-banner"' not in text(signed_in.get("/portfolio/"))
    assert Notification.objects.get(user=trader).read_at is not None


def test_dismiss_never_redirects_off_site(signed_in, trader):
    isolated_long_liquidated(trader)

    response = signed_in.post("/notifications/dismiss/", {"next": "https://evil.example/"})

    assert response.url == "/trade/"


def test_dismissing_an_unknown_kind_is_refused_without_echoing_it(signed_in, trader, unchanged):
    isolated_long_liquidated(trader)

    with unchanged():
        response = signed_in.post("/notifications/dismiss/", {"kind": "<script>alert(1)</script>"})

    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == (
        "Unknown kind of notice: send one of LIQUIDATION, OPERATOR."
    )
    assert Notification.objects.get(user=trader).read_at is None


def test_another_users_liquidation_shows_no_banner(signed_in, make_trader):
    isolated_long_liquidated(make_trader("bob"))

    assert 'id="liquidation-banner"' not in text(signed_in.get("/portfolio/"))
