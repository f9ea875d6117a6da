"""Is this day a trading session? The one question the daily tasks and commands ask before running.

The answer is the XBOM calendar plus Muhurat sessions (``marketdata.calendar``), plus the special
sessions recorded in ``TradingSession`` (Budget Saturdays, live DR-site sessions, days ingestion
found in the data, days staff added in admin).
"""

from __future__ import annotations

import datetime as dt

from marketdata.calendar import is_trading_session as calendar_session
from marketdata.selectors import trading_session_dates


def is_trading_session(day: dt.date) -> bool:
    # The calendar answers most days; only a day it does not list needs the table.
    return calendar_session(day) or calendar_session(day, extra=trading_session_dates(start=day, end=day))
