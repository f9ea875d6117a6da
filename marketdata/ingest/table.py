"""Bytes of one file -> a table of raw values whose index is the source line (or row) number.

CSV values stay strings (stripped of the padding some layouts use); Parquet keeps its types.
Refuses, with the reason and the fix, what is not a table: empty files, HTML error pages saved
under a .csv name, malformed CSV.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from marketdata.ingest.errors import IngestError

PARQUET_MAGIC = b"PAR1"
_BOM = b"\xef\xbb\xbf"
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class RawTable:
    """Raw rows indexed by source line (CSV: the header is line 1) or 1-based row (Parquet)."""

    frame: pd.DataFrame
    kind: str  # "csv" or "parquet"

    @property
    def header(self) -> list[str]:
        return [str(name) for name in self.frame.columns]


def _refuse_non_tables(data: bytes) -> None:
    head = data[:4096].lstrip(_BOM + b" \t\r\n")
    if not head:
        raise IngestError(
            f"the file is empty ({len(data)} bytes): the download failed or the exchange published "
            "nothing yet; fetch it again"
        )
    if head.startswith(b"<"):
        title = _TITLE.search(data[:65536])
        hint = f" titled {title.group(1).strip().decode('utf-8', 'replace')[:80]!r}" if title else ""
        raise IngestError(
            f"the file is an HTML page{hint}, not a CSV: the exchange's site returned an error page "
            "and it was saved as data; download the file again"
        )


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older BSE files carry Windows-1252 company names.
        return data.decode("cp1252", errors="replace")


def _read_csv(data: bytes) -> RawTable:
    try:
        frame = pd.read_csv(
            io.StringIO(_decode(data)),
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            skipinitialspace=False,
        )
    except pd.errors.EmptyDataError as exc:
        raise IngestError("the file is empty: it has no header line; fetch it again") from exc
    except pd.errors.ParserError as exc:
        raise IngestError(f"the file is not a well-formed CSV ({exc}); download it again") from exc
    frame.columns = [str(name).strip().strip('"').strip() for name in frame.columns]
    # Keeping blank lines while reading makes the index the line number (header = line 1).
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="line")
    frame = frame.apply(lambda values: values.str.strip())
    blank = (frame == "").all(axis=1)
    frame = frame[~blank]
    if frame.empty:
        raise IngestError(
            "the file has a header but no data rows: the exchange published an empty file; fetch it again"
        )
    return RawTable(frame=frame, kind="csv")


def _read_parquet(data: bytes) -> RawTable:
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as exc:
        raise IngestError(f"the file starts like Parquet but cannot be read ({exc}); write it again") from exc
    frame = table.to_pandas()
    if frame.empty:
        raise IngestError("the Parquet file has no rows")
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="line")
    return RawTable(frame=frame, kind="parquet")


def read_table(data: bytes) -> RawTable:
    """Parse ``data`` as Parquet (by its magic bytes) or CSV; raise IngestError for anything else."""
    if data[:4] == PARQUET_MAGIC:
        return _read_parquet(data)
    _refuse_non_tables(data)
    return _read_csv(data)
