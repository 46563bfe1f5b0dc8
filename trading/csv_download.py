"""CSV downloads (the trader's ledger page and API, the back office's ledger): streamed row by
row, so a long ledger is never held in memory. Cells are written as given: amounts arrive as the
stored decimals in plain digits, never floats."""

import csv
from collections.abc import Iterable

from django.http import StreamingHttpResponse


class _Echo:
    """csv.writer's file: each row written is handed straight to the response."""

    def write(self, value: str) -> str:
        return value


def csv_download(header: list[str], rows: Iterable[list], *, filename: str):
    """A download of ``header`` and then ``rows`` (an iterable, consumed as it streams)."""
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    return StreamingHttpResponse(
        lines(),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
