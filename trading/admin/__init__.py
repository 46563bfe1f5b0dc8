"""The back office's pages (Django admin, staff only), one module per area, the accounts app's
users and groups included (users.py), so the back office lives in one place. Financial figures
are never edited here: every change goes through a service, which checks it, writes the ledger
and the audit log, and refuses bad input with a message."""

from trading.admin import (  # noqa: F401  (each module registers its pages)
    audit,
    instruments,
    ledger,
    liquidations,
    orders,
    positions,
    prices,
    users,
)
