"""The back office's trading pages (Django admin, staff only), one module per area. Financial
figures are never edited here: every change goes through a service, which checks it, writes the
ledger and the audit log, and refuses bad input with a message."""

from trading.admin import (  # noqa: F401  (each module registers its pages)
    audit,
    instruments,
    ledger,
    liquidations,
    orders,
    positions,
    prices,
)
