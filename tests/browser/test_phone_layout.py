"""The trade page on a phone (issue 16): at 390 x 844 the positions and the open orders are cards,
each cell a line led by its column's name, and every figure and button shows without scrolling
sideways, in the panels as the page loads them and as the socket pushes them again. At desktop
width they are still tables. In Chromium, against marginsite served as `make run` serves it."""

from decimal import Decimal

import pytest

from tests.browser.test_live_trade_page import PUSH_MS, signed_in
from tests.builders import open_position
from trading.services import mark_price_set, order_place
from trading.templatetags.figures import to_tick

pytestmark = [pytest.mark.browser, pytest.mark.redis]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}

# Every cell of the cards, and every control in them, with where it is drawn and whether its
# label shows: the label is the cell's ::before, its data-label.
BOXES = """(panel) => {
  const root = document.querySelector(panel);
  const controls = "a, button, summary, input:not([type=hidden])";
  return [...root.querySelectorAll(`tbody tr > *, tbody tr :is(${controls})`)]
    .filter(node => !node.closest("details:not([open]) > :not(summary)"))
    .map(node => {
      const box = node.getBoundingClientRect();
      const label = node.dataset.label;
      const before = getComputedStyle(node, "::before").content;
      return {
        what: label || node.textContent.trim().slice(0, 30) || node.outerHTML.slice(0, 60),
        left: box.left, right: box.right, width: box.width, height: box.height,
        shown: node.checkVisibility({visibilityProperty: true}),
        label: label === undefined ? null : before === `"${label}"`,
      };
    });
}"""


def trader_with_a_resting_order(make_trader):
    """A trader with a Cross long of 0.1 BTC and a limit order to buy 0.01 at 55,000."""
    trader = make_trader()
    open_position(trader, "BUY", "0.1", margin_mode="CROSS")
    order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.01", order_type="LIMIT",
        price="55000", margin_mode="CROSS",
    )  # fmt: skip
    return trader


def outside_the_screen(page, panel: str) -> list[dict]:
    """The cells and controls of ``panel``'s cards drawn outside 0..390 px, hidden, or whose
    label does not show."""
    width = page.viewport_size["width"]
    return [
        box
        for box in page.evaluate(BOXES, panel)
        if box["left"] < 0
        or box["right"] > width
        or not (box["width"] and box["height"] and box["shown"])
        or box["label"] is False
    ]


def count(page, selector: str) -> int:
    return page.locator(selector).count()


def test_on_a_phone_positions_and_orders_are_cards_with_every_figure_and_button_on_screen(
    marginsite, page, make_trader, market
):
    trader = trader_with_a_resting_order(make_trader)
    open_position(trader, "SELL", "0.05", margin_mode="ISOLATED")
    site = marginsite(("web",))
    signed_in(page, site, trader)
    page.set_viewport_size(PHONE)
    positions, orders = "[data-live-panel='positions']", "[data-live-panel='orders']"

    page.goto(f"{site.url}/trade/BTCUSDT/")
    page.wait_for_selector("html[data-live='open']", state="attached")

    def fits() -> None:
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        # two positions of 13 cells, each with its twin's row; one order of 9 cells
        assert count(page, f"{positions} tbody tr[data-position] > [data-label]") == 26
        assert count(page, f"{orders} tbody tr[data-order] > [data-label]") == 9
        assert page.evaluate(
            "(t) => getComputedStyle(document.querySelector(t)).display", f"{positions} table"
        ) == "block"  # fmt: skip
        assert outside_the_screen(page, positions) == []
        assert outside_the_screen(page, orders) == []

    fits()
    # the liquidation price, margin, PnL and the buttons (off-screen in issue 16) are on screen
    card = page.locator(f"{positions} tr[data-mode='ISOLATED'][data-position]")
    for figure in ("liquidation-price", "margin", "unrealized-pnl"):
        assert card.locator(f"[data-figure='{figure}']").is_visible()
    for name in ("Close at market", "Close at limit"):
        assert card.locator("button", has_text=name).is_visible()
    assert card.get_by_role("link", name="Add/remove margin").is_visible()
    # the resting order's edit form, opened, fits too
    page.locator(f"{orders} summary", has_text="Edit").click()
    fits()

    # a tick: the socket renders the panels again, as cards still
    mark = mark_price_set(symbol="BTCUSDT", price=Decimal("60100"))
    page.wait_for_function(
        "([panel, text]) => document.querySelector(panel + ' [data-figure=mark-price]')"
        "?.textContent === text",
        arg=[positions, to_tick(mark.price, mark.instrument.tick_size)],
        timeout=PUSH_MS,
    )
    page.locator(f"{orders} summary", has_text="Edit").click()
    fits()

    # /portfolio shows the same cards
    page.goto(f"{site.url}/portfolio/")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert count(page, "table.positions tbody tr[data-position]") == 2
    assert outside_the_screen(page, ".positions-panel") == []


def test_at_desktop_width_positions_and_orders_are_still_tables(
    marginsite, page, make_trader, market
):
    trader = trader_with_a_resting_order(make_trader)
    site = marginsite(("web",))
    signed_in(page, site, trader)
    page.set_viewport_size(DESKTOP)

    page.goto(f"{site.url}/trade/BTCUSDT/")

    for panel in ("positions", "orders"):
        table = f"[data-live-panel='{panel}'] table"
        assert page.evaluate(
            """(table) => {
              const node = document.querySelector(table);
              const cell = node.querySelector("tbody td[data-label]");
              return [getComputedStyle(node).display, node.querySelector("thead").offsetHeight > 0,
                      getComputedStyle(cell, "::before").content];
            }""",
            table,
        ) == ["table", True, "none"]  # fmt: skip
