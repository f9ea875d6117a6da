"""One exchange's daily bhavcopy from its public archive: download, unpack, check. No Django.

The archives (defaults in settings, see docs/ingestion.md):

- NSE: ``https://nsearchives.nseindia.com/content/cm/BhavCopy_NSE_CM_0_0_0_{yyyymmdd}_F_0000.csv.zip``,
  a zip holding the UDiFF CSV;
- BSE: ``https://www.bseindia.com/download/BhavCopy/Equity/BhavCopy_BSE_CM_0_0_0_{yyyymmdd}_F_0000.CSV``,
  the UDiFF CSV itself.

Both answer 403 to clients that do not look like a browser, so every request sends a browser
``User-Agent``, an ``Accept`` and the exchange's site as ``Referer``. Before a file is published
they answer 404 (NSE) or an HTML page (BSE); while they are busy, 403 or 5xx. All of these are
*retryable*: ``FetchError.retryable`` tells the caller (``marketdata.services.bhavcopy_fetch``) to try
again after ``backoff_seconds``. A response is accepted only when it is a readable CSV (unzipped
when it is a zip) of the right exchange whose every row is dated on the day asked for.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from marketdata.ingest.errors import IngestError
from marketdata.ingest.frame import ParseContext
from marketdata.ingest.layouts import detect_layout
from marketdata.ingest.table import read_table

BROWSER_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
)
REFERERS: dict[str, str] = {"NSE": "https://www.nseindia.com/", "BSE": "https://www.bseindia.com/"}
ACCEPT = "text/csv,application/zip,application/octet-stream;q=0.9,*/*;q=0.8"
# Statuses worth another try: 403 (the archives' bot shield, or not yet published on NSE), 404 (not
# published yet), 408, 425 and 429 (slow down), and every 5xx.
RETRY_STATUSES: frozenset[int] = frozenset({403, 404, 408, 425, 429})
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


class FetchError(Exception):
    """A download that gave no usable file; ``retryable`` says whether a later attempt may succeed."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status


@dataclass(frozen=True)
class Fetched:
    """A checked daily file: the CSV's name and bytes, ready for the inbox."""

    filename: str
    data: bytes
    status: int
    rows: int


def url_for(template: str, day: dt.date) -> str:
    """``template`` with ``{yyyymmdd}``, ``{ddmmyyyy}``, ``{ddmmyy}`` or ``{DDMONYYYY}`` filled for ``day``."""
    return template.format(
        yyyymmdd=f"{day:%Y%m%d}",
        ddmmyyyy=f"{day:%d%m%Y}",
        ddmmyy=f"{day:%d%m%y}",
        DDMONYYYY=f"{day.day:02d}{_MONTHS[day.month - 1]}{day.year}",
    )


def request_headers(exchange: str, *, user_agent: str = BROWSER_USER_AGENT) -> dict[str, str]:
    return {
        "User-Agent": user_agent,
        "Accept": ACCEPT,
        "Accept-Language": "en-US,en;q=0.9",
        "Referer": REFERERS.get(exchange, ""),
    }


def backoff_seconds(attempt: int, *, base: float, cap: float) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based): doubling from ``base``, at most ``cap``."""
    return float(min(cap, base * 2 ** max(0, attempt - 1)))


def download(url: str, *, headers: dict[str, str], timeout: float, max_bytes: int) -> tuple[int, bytes]:
    """GET ``url``: ``(status, body)`` of a 200 answer; FetchError for anything else.

    Redirects are followed; a body cut short of its Content-Length, a timeout or a refused connection
    are retryable errors, as are the statuses in ``RETRY_STATUSES`` and 5xx.
    """
    import urllib3  # the web image never fetches: only the worker's needs it

    pool = urllib3.PoolManager(
        retries=urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=5),
        timeout=urllib3.Timeout(connect=min(timeout, 10.0), read=timeout),
    )
    response: Any = None
    try:
        response = pool.request("GET", url, headers=headers, preload_content=False)
        status = int(response.status)
        if status != 200:
            retryable = status in RETRY_STATUSES or status >= 500
            raise FetchError(f"HTTP {status} from {url}", retryable=retryable, status=status)
        body = response.read(amt=max_bytes + 1, decode_content=True)
        if len(body) > max_bytes:
            raise FetchError(f"{url} sent more than {max_bytes} bytes: not a daily bhavcopy", retryable=False)
        return status, body
    except urllib3.exceptions.HTTPError as exc:
        raise FetchError(f"{type(exc).__name__} from {url}: {exc}", retryable=True) from exc
    finally:
        if response is not None:
            response.release_conn()
        pool.clear()


def unpack(data: bytes, *, url: str) -> tuple[str, bytes]:
    """The CSV inside: a zip's one CSV member, or the body itself; named as published."""
    name = PurePosixPath(urlsplit(url).path).name or "bhavcopy.csv"
    if not data.startswith(b"PK"):
        return name, data
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = [i.filename for i in archive.infolist() if i.filename.lower().endswith(".csv")]
            if len(members) != 1:
                raise FetchError(
                    f"the zip from {url} holds {len(members)} CSV files, not one: not a daily bhavcopy",
                    retryable=True,
                )
            return PurePosixPath(members[0]).name, archive.read(members[0])
    except (zipfile.BadZipFile, EOFError, zipfile.LargeZipFile) as exc:
        raise FetchError(f"the zip from {url} is damaged or cut short ({exc})", retryable=True) from exc


def check(data: bytes, *, filename: str, exchange: str, day: dt.date) -> int:
    """Refuse what must not reach the inbox; return the file's row count.

    A file that is no table (an HTML error page, an empty body) or still the previous day's may be
    replaced by the right one later: retryable. A file of another exchange or layout is not.
    """
    try:
        table = read_table(data)
        layout = detect_layout(table.header, frame=table.frame, filename=filename)
        parsed = layout.parse(table.frame, ParseContext(filename=filename, trade_date=None, exchange=None))
    except IngestError as exc:
        raise FetchError(f"{filename}: {exc}", retryable=True) from exc
    if parsed.exchange != exchange:
        raise FetchError(
            f"{filename} is a {layout.name} file of {parsed.exchange}, not {exchange}: check VCP_FETCH_URL_{exchange}",
            retryable=False,
        )
    found = sorted({ts.date() for ts in parsed.frame["date"].dropna().unique()})
    if found != [day]:
        shown = ", ".join(map(str, found[:3])) or "no date"
        raise FetchError(
            f"{filename} asked for {day} carries {shown}: the archive does not have the day's file yet "
            "(or served another day's under its name)",
            retryable=True,
        )
    return len(parsed.frame)


def fetch_once(
    url: str, *, exchange: str, day: dt.date, headers: dict[str, str], timeout: float, max_bytes: int
) -> Fetched:
    """One attempt: download, unpack, check. Raises FetchError."""
    status, body = download(url, headers=headers, timeout=timeout, max_bytes=max_bytes)
    filename, data = unpack(body, url=url)
    rows = check(data, filename=filename, exchange=exchange, day=day)
    return Fetched(filename=filename, data=data, status=status, rows=rows)
