"""Is this day a trading session? The one question the daily tasks and commands ask before running.

Today the answer is the XBOM calendar plus Muhurat sessions (``marketdata.calendar``).
"""

from __future__ import annotations

import datetime as dt

from marketdata.calendar import is_trading_session as calendar_session


def is_trading_session(day: dt.date) -> bool:
    return calendar_session(day)
