"""The liquidation's rule: which steps it takes, in order, and what each one settles.

- The scope is kept: an isolated liquidation acts on its one position; a cross one on the cross
  positions only (isolated positions and their margins are outside it).
- First the venue's partial steps (trading/domain/venues.py): each closes part of a position at
  the mark, as a liquidation fill with its liquidation fee, the position keeping its margin.
  After each step the scope is checked again: back in margin (after the fee) it stops, the
  position survives. A venue with a cooldown takes one step and then waits for it to end (the
  plan has no step while it runs), unless the margin balance falls below its backstop share of
  the maintenance margin: then, cooldown or not, the position is closed whole.
- In cross, a partial step is taken only when the wallet pays its loss and fee in full: one
  that needs the insurance fund goes to the last step instead.
- What cannot be saved is closed whole at the mark (the last step): an isolated position's
  margin left goes to the insurance fund, in cross every position is closed (profits first, so
  that they pay the losses before the fund does) and the wallet left goes to the fund. The user
  loses exactly the margin balance at the mark: what a close at the bankruptcy price loses.
- The insurance fund pays a loss beyond what backs a position only up to its balance; what it
  cannot pay is each step's ``uncovered``, for auto-deleveraging (``deleverage_need``).
"""

from dataclasses import dataclass, replace
from decimal import ROUND_UP, Decimal

from trading.domain.holdings import Holdings, PositionKey
from trading.domain.settlement import (
    Account,
    Liquidation,
    PositionHeld,
    Settlement,
    fill_settlement,
)
from trading.domain.venues import VenueRules
from trading.engine import (
    CrossHolding,
    IsolatedHolding,
    PositionState,
    maintenance_margin,
    unrealized_pnl,
)
from trading.money import ZERO, price_stored


@dataclass(frozen=True)
class Terms:
    """What a position's liquidation follows: its venue's rules, its instrument's step size,
    liquidation fee rate (0 where the venue charges none) and taker fee rate, and whether the
    venue's cooldown after a partial step is running."""

    rules: VenueRules
    step_size: Decimal
    fee_rate: Decimal
    taker_fee_rate: Decimal = ZERO
    cooling: bool = False


@dataclass(frozen=True)
class LiquidationStep:
    key: PositionKey
    state: PositionState  # the position before the step, at its mark
    quantity: Decimal
    settlement: Settlement
    final: bool


@dataclass(frozen=True)
class LiquidationPlan:
    """The steps, in order; whether the scope is back in margin after them (the positions left
    survive); the cross wallet left to the insurance fund at the end; the fund's balance after."""

    steps: tuple[LiquidationStep, ...]
    survived: bool
    wallet_taken: Decimal
    fund_balance: Decimal | None


class _Run:
    """The plan being built: the account, the positions and the fund as the steps leave them."""

    def __init__(self, holdings: Holdings, held: dict, fund: Decimal | None):
        self.holdings, self.held, self.fund, self.steps = holdings, held, fund, []

    def figures(self, key):
        return self.holdings.position_figures(key)

    def settle(self, key, quantity: Decimal, terms: Terms, *, final: bool) -> Settlement:
        holding = self.holdings.holdings[key]
        state = holding.position
        settlement = fill_settlement(
            position=self.held[key],
            isolated=isinstance(holding, IsolatedHolding),
            wallet_balance=self.holdings.wallet_balance,
            side=-state.side,
            quantity=quantity,
            price=state.mark_price,
            fee_rate=ZERO,
            leverage=holding.leverage,
            liquidation=Liquidation(terms.fee_rate, final),
            fund_balance=self.fund,
        )
        self.steps.append(LiquidationStep(key, state, quantity, settlement, final))
        return settlement

    def apply(self, key, settlement: Settlement, terms: Terms) -> None:
        """The account after a step."""
        if self.fund is not None:
            self.fund += settlement.net(Account.INSURANCE_FUND)
        holding, after = self.holdings.holdings[key], settlement.position
        if after is None:
            self.holdings = self.holdings.replaced(
                key, None, wallet_balance=settlement.wallet_balance
            )
            return
        self.held[key] = after
        state = replace(holding.position, quantity=after.quantity)
        if isinstance(holding, IsolatedHolding):
            margin, leverage = after.isolated_margin, holding.leverage
            collateral = terms.rules.isolated_collateral(
                state, margin, leverage, terms.taker_fee_rate
            )
            holding = IsolatedHolding(
                state, margin, leverage, None if collateral == margin else collateral
            )
        else:
            holding = CrossHolding(state, holding.leverage)
        self.holdings = self.holdings.replaced(
            key, holding, wallet_balance=settlement.wallet_balance
        )

    def plan(self, *, survived: bool, wallet_taken: Decimal = ZERO) -> LiquidationPlan:
        return LiquidationPlan(tuple(self.steps), survived, wallet_taken, self.fund)


def isolated_liquidation_plan(
    holdings: Holdings,
    key: PositionKey,
    *,
    held: PositionHeld,
    terms: Terms,
    fund_balance: Decimal | None,
) -> LiquidationPlan:
    """The steps that liquidate the isolated position at ``key`` (see the module); none while
    its venue's cooldown runs and the backstop is not reached."""
    run = _Run(holdings, {key: held}, fund_balance)
    while True:
        state = run.holdings.holdings[key].position
        figures = run.figures(key)
        backstop = terms.rules.backstop(
            margin_balance=figures.margin_balance, maintenance=figures.maintenance_margin
        )
        if terms.cooling and not backstop:
            return run.plan(survived=True)
        keep = None if backstop or terms.cooling else terms.rules.partial_keep(
            state, terms.step_size
        )  # fmt: skip
        if keep is None:
            run.apply(key, run.settle(key, state.quantity, terms, final=True), terms)
            return run.plan(survived=False)
        run.apply(key, run.settle(key, state.quantity - keep, terms, final=False), terms)
        if terms.rules.cooldown_seconds or not run.figures(key).liquidatable:
            return run.plan(survived=True)


def cross_liquidation_plan(
    holdings: Holdings,
    *,
    held: dict[PositionKey, PositionHeld],
    terms: dict[PositionKey, Terms],
    fund_balance: Decimal | None,
) -> LiquidationPlan:
    """The steps that liquidate the account's cross positions (see the module). ``held`` and
    ``terms`` cover each cross position."""
    run = _Run(holdings, dict(held), fund_balance)
    account = run.holdings.cross_margin()
    backstop = any(
        t.rules.backstop(
            margin_balance=account.margin_balance, maintenance=account.maintenance_margin
        )
        for t in terms.values()
    )
    cooling = any(t.cooling for t in terms.values())
    if cooling and not backstop:
        return run.plan(survived=True)
    while not (backstop or cooling):
        step = _cross_partial_step(run, terms)
        if step is None:
            break
        key, settlement = step
        run.apply(key, settlement, terms[key])
        if terms[key].rules.cooldown_seconds or not run.holdings.cross_margin().liquidatable:
            return run.plan(survived=True)
    cross = {k: h for k, h in run.holdings.holdings.items() if isinstance(h, CrossHolding)}
    by_profit = sorted(cross, key=lambda k: -unrealized_pnl(cross[k].position))
    for key in by_profit:
        state = run.holdings.holdings[key].position
        run.apply(key, run.settle(key, state.quantity, terms[key], final=True), terms[key])
    return run.plan(survived=False, wallet_taken=run.holdings.wallet_balance)


def _cross_partial_step(run: _Run, terms) -> tuple[PositionKey, Settlement] | None:
    """A partial step of the cross position with the largest maintenance margin that the venue
    reduces, when the wallet pays it in full (None: there is none; the last step follows)."""
    reducible = []
    for key, holding in run.holdings.holdings.items():
        if isinstance(holding, CrossHolding):
            keep = terms[key].rules.partial_keep(holding.position, terms[key].step_size)
            if keep is not None:
                reducible.append((maintenance_margin(holding.position), key, keep))
    if not reducible:
        return None
    _, key, keep = max(reducible, key=lambda item: item[0])
    state = run.holdings.holdings[key].position
    settlement = run.settle(key, state.quantity - keep, terms[key], final=False)
    if settlement.fee_waived or any(t.kind == "INSURANCE" for t in settlement.transfers):
        run.steps.pop()
        return None
    return key, settlement


@dataclass(frozen=True)
class DeleverageNeed:
    """What auto-deleveraging must close of the opposite side: ``quantity`` at ``price``, the
    price at which closing that much recovers the step's uncovered loss."""

    quantity: Decimal
    price: Decimal


def deleverage_need(step: LiquidationStep, *, step_size: Decimal) -> DeleverageNeed | None:
    """For a step the insurance fund could not cover in full: the opposite positions close at
    the price where the step's loss beyond what backed it is gone (its bankruptcy price: mark +
    s x shortfall / q), as much of them as recovers the uncovered part (rounded up to the step,
    at most the step's size). None when the fund covered it all."""
    uncovered = step.settlement.uncovered
    if not uncovered:
        return None
    shortfall = sum(
        (t.amount for t in step.settlement.transfers if t.kind == "INSURANCE"), uncovered
    )
    state, quantity = step.state, step.quantity
    price = price_stored(state.mark_price + state.side * shortfall / quantity)
    needed = (quantity * uncovered / shortfall / step_size).to_integral_value(ROUND_UP) * step_size
    return DeleverageNeed(min(needed, quantity), price)
