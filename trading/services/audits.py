import logging

from trading.selectors import ledger_problems

logger = logging.getLogger(__name__)


def ledger_audit() -> list[str]:
    """check_ledger on a schedule: every broken invariant is logged as an error, loudly, so that
    an operator's log monitoring sees it the hour it happens."""
    problems = ledger_problems()
    for problem in problems:
        logger.error("LEDGER VIOLATION: %s", problem)
    if not problems:
        logger.info("ledger audit: the books balance")
    return problems
