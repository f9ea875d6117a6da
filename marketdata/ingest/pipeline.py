"""One file's bytes -> the bars to load and the rows refused: detect, parse, validate. No database.

``prepare_file`` raises IngestError (with the problem and the fix) for anything that must refuse
the whole file; bad rows refuse it too unless ``skip_bad``, in which case they come back in
``Prepared.rejects`` and only the good rows are in ``Prepared.bars``. Dates are judged one by one
(``marketdata.ingest.sessions``): the rows of a refused date go to ``rejects`` with the reason and
the other dates load; a file is refused only when every date is.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd

from marketdata.ingest.errors import IngestError
from marketdata.ingest.frame import ParseContext
from marketdata.ingest.layouts import detect_layout
from marketdata.ingest.rejects import rejects_frame
from marketdata.ingest.sessions import StoredBars, judge_dates
from marketdata.ingest.table import read_table
from marketdata.ingest.validate import check_trade_date, describe_rejects, row_problems


@dataclass(frozen=True)
class Prepared:
    """A file ready to load: ``bars`` is a normalised frame (see frame.py), ``rejects`` the bad rows.

    ``refused_dates`` maps each date refused as no trading session to the reason (its rows are in
    ``rejects``); ``special_sessions`` maps each date accepted as a special session to the evidence.
    """

    layout: str
    exchange: str
    bars: pd.DataFrame
    rejects: pd.DataFrame
    rows_read: int
    rows_skipped: int
    refused_dates: dict[dt.date, str] = field(default_factory=dict)
    special_sessions: dict[dt.date, str] = field(default_factory=dict)

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
    today: dt.date | None = None,
    extra_sessions: Iterable[dt.date] = (),
    stored_bars: StoredBars | None = None,
) -> Prepared:
    """Detect the layout from the header, parse to the normalised frame, validate it, judge its dates.

    ``today`` (the date in India) refuses rows dated after it. ``extra_sessions`` are the special
    sessions known beside the calendar; ``stored_bars(exchange, day)`` gives a stored day's bars, to
    compare a date the calendar does not list with the session before it.
    """
    table = read_table(data)
    layout = detect_layout(table.header, frame=table.frame, filename=filename)
    if exchange is not None and layout.exchange is not None and exchange != layout.exchange:
        raise IngestError(
            f"--exchange {exchange} was given but this is a {layout.name} file, which is {layout.exchange}: "
            "drop --exchange, or check that this is the right file"
        )
    parsed = layout.parse(table.frame, ParseContext(filename=filename, trade_date=trade_date, exchange=exchange))
    frame = parsed.frame
    check_trade_date(frame["date"], trade_date)
    reasons = row_problems(frame, parsed.problems, today=today)
    if len(reasons) and not skip_bad:
        raise IngestError(describe_rejects(reasons, rows=len(frame)))
    if len(reasons) and len(reasons) == len(frame):
        raise IngestError(describe_rejects(reasons, rows=len(frame), all_bad=True))
    good = frame.drop(index=reasons.index) if len(reasons) else frame
    sessions = judge_dates(good, exchange=parsed.exchange, extra_sessions=extra_sessions, stored_bars=stored_bars)
    bars = good
    if sessions.refused:
        refused = good["date"].isin([pd.Timestamp(day) for day in sessions.refused])
        if refused.all():
            raise IngestError("; ".join(sessions.refused[day] for day in sorted(sessions.refused)))
        by_date = good.loc[refused, "date"].map(lambda day: sessions.refused[day.date()])
        reasons = pd.concat([reasons, by_date.astype(object)]).sort_index()
        bars = good[~refused]
    return Prepared(
        layout=layout.name,
        exchange=parsed.exchange,
        bars=bars,
        rejects=rejects_frame(table.frame, reasons),
        rows_read=parsed.rows_read,
        rows_skipped=parsed.rows_skipped,
        refused_dates=sessions.refused,
        special_sessions=sessions.special,
    )
