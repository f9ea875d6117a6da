"""One file's bytes -> the bars to load and the rows refused: detect, parse, validate. No database.

``prepare_file`` raises IngestError (with the problem and the fix) for anything that must refuse
the whole file; bad rows refuse it too unless ``skip_bad``, in which case they come back in
``Prepared.rejects`` and only the good rows are in ``Prepared.bars``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from marketdata.ingest.errors import IngestError
from marketdata.ingest.frame import ParseContext
from marketdata.ingest.layouts import detect_layout
from marketdata.ingest.rejects import rejects_frame
from marketdata.ingest.table import read_table
from marketdata.ingest.validate import check_sessions, check_trade_date, describe_rejects, row_problems


@dataclass(frozen=True)
class Prepared:
    """A file ready to load: ``bars`` is a normalised frame (see frame.py), ``rejects`` the bad rows."""

    layout: str
    exchange: str
    bars: pd.DataFrame
    rejects: pd.DataFrame
    rows_read: int
    rows_skipped: int

    @property
    def first_date(self) -> dt.date | None:
        return None if self.bars.empty else self.bars["date"].min().date()

    @property
    def last_date(self) -> dt.date | None:
        return None if self.bars.empty else self.bars["date"].max().date()


def prepare_file(
    data: bytes,
    *,
    filename: str,
    trade_date: dt.date | None = None,
    exchange: str | None = None,
    skip_bad: bool = False,
) -> Prepared:
    """Detect the layout from the header, parse to the normalised frame, and validate it."""
    table = read_table(data)
    layout = detect_layout(table.header)
    if exchange is not None and layout.exchange is not None and exchange != layout.exchange:
        raise IngestError(
            f"--exchange {exchange} was given but this is a {layout.name} file, which is {layout.exchange}: "
            "drop --exchange, or check that this is the right file"
        )
    parsed = layout.parse(table.frame, ParseContext(filename=filename, trade_date=trade_date, exchange=exchange))
    frame = parsed.frame
    check_trade_date(frame["date"], trade_date)
    check_sessions(frame["date"])
    reasons = row_problems(frame, parsed.problems)
    if len(reasons) and not skip_bad:
        raise IngestError(describe_rejects(reasons, rows=len(frame)))
    if len(reasons) and len(reasons) == len(frame):
        raise IngestError(describe_rejects(reasons, rows=len(frame), all_bad=True))
    bars = frame.drop(index=reasons.index) if len(reasons) else frame
    return Prepared(
        layout=layout.name,
        exchange=parsed.exchange,
        bars=bars,
        rejects=rejects_frame(table.frame, reasons),
        rows_read=parsed.rows_read,
        rows_skipped=parsed.rows_skipped,
    )
