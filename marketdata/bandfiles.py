"""Exchange price-band files -> one normalised frame of (symbol, series, band, effective_from).

Pure (no Django). Three layouts, recognised from the header like the bhavcopy parsers:

- ``nse_band_list``: NSE's security-wise price band list (``sec_list_DDMMYYYY.csv``): ``Symbol,
  Series, Security Name, Band, Remarks``. Every security's band; the date is the file name's
  (or ``effective_from``).
- ``nse_band_changes``: NSE's daily revisions (``eq_band_changes_DDMMYYYY.csv``): ``Symbol, Series,
  Security Name, From, To``; an ``Effective/Applicable Date`` column, when present, dates each row.
- ``bse_circuit``: BSE's circuit filter list: ``Scrip Code, Scrip Name, Group, Circuit Filter``
  (the scrip code is the symbol BSE bars are stored under).

``band`` is a percent (2, 5, 10, 20), or 0 for "No Band" (stocks with derivatives have a dynamic
operating range, not a circuit). Anything else refuses the whole file: a band file is the truth the
labels are built on, so a half-understood one must not be loaded.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from marketdata.enums import ExchangeCode

STANDARD_BANDS: frozenset[int] = frozenset({2, 5, 10, 20})
NO_BAND = 0
_NO_BAND_TEXT = {"NO BAND", "NOBAND", "NB", "NO", "NIL", "-"}
_NAME_DATE = re.compile(r"(?<!\d)(\d{2})(\d{2})(\d{4})(?!\d)")  # ddmmyyyy, as NSE names its files
COLUMNS = ("symbol", "series", "band", "effective_from")


class BandFileError(ValueError):
    """The file cannot be loaded as asked; the message names the problem and the fix."""


@dataclass(frozen=True)
class BandFile:
    layout: str
    exchange: str
    frame: pd.DataFrame  # COLUMNS; band int (0 = no band), effective_from datetime.date


def _key(name: str) -> str:
    return re.sub(r"[^a-z]", "", str(name).lower())


def date_from_filename(filename: str) -> dt.date | None:
    for match in _NAME_DATE.finditer(filename):
        day, month, year = (int(g) for g in match.groups())
        try:
            return dt.date(year, month, day)
        except ValueError:
            continue
    return None


def band_value(text: object) -> int | None:
    """A band cell as a percent (0 for "No Band"); None when it is no band the exchanges use."""
    raw = str(text).strip().upper().rstrip("%").strip()
    if raw in _NO_BAND_TEXT:
        return NO_BAND
    try:
        number = float(raw)
    except ValueError:
        return None
    return int(number) if number.is_integer() and int(number) in STANDARD_BANDS else None


def _column(frame: pd.DataFrame, *keys: str) -> str | None:
    by_key = {_key(c): c for c in frame.columns}
    return next((by_key[k] for k in keys if k in by_key), None)


def _required(frame: pd.DataFrame, *keys: str) -> str:
    column = _column(frame, *keys)
    if column is None:
        raise BandFileError(f"no {keys[0]!r} column in the header ({', '.join(map(str, frame.columns))})")
    return column


def _dates(frame: pd.DataFrame, effective_from: dt.date | None, filename: str) -> pd.Series:
    column = _column(frame, "effectivedate", "applicabledate", "effectivefrom", "date")
    if column is not None and effective_from is None:
        parsed = pd.to_datetime(frame[column].astype(str).str.strip(), format="mixed", dayfirst=True, errors="coerce")
        if parsed.isna().any():
            bad = frame.loc[parsed.isna(), column].astype(str).head(3).tolist()
            raise BandFileError(f"column {column!r} has dates that cannot be read: {bad}")
        return parsed.dt.date
    day = effective_from or date_from_filename(filename)
    if day is None:
        raise BandFileError(
            f"{filename!r} carries no date (like sec_list_01082024.csv): pass --effective-from YYYY-MM-DD"
        )
    return pd.Series([day] * len(frame), index=frame.index, dtype=object)


def _normalise(
    frame: pd.DataFrame, *, symbol: str, series: str | None, band: pd.Series, dates: pd.Series
) -> pd.DataFrame:
    values = band.map(band_value)
    impossible = values.isna()
    if impossible.any():
        rows = [f"{s}: {b!r}" for s, b in zip(frame.loc[impossible, symbol], band[impossible], strict=True)][:10]
        raise BandFileError(
            f"{int(impossible.sum())} rows have a band no exchange uses (2, 5, 10, 20 or No Band): "
            f"{', '.join(rows)}. Nothing was loaded; correct the file or its source."
        )
    out = pd.DataFrame(
        {
            "symbol": frame[symbol].astype(str).str.strip().str.upper(),
            "series": frame[series].astype(str).str.strip().str.upper() if series else "",
            "band": values.astype(int),
            "effective_from": dates,
        }
    )
    if (out["symbol"] == "").any():
        raise BandFileError("some rows have no symbol; nothing was loaded")
    return out


def _nse_list(frame: pd.DataFrame, effective_from: dt.date | None, filename: str) -> pd.DataFrame:
    symbol, series, band = _required(frame, "symbol"), _column(frame, "series"), _required(frame, "band", "priceband")
    return _normalise(
        frame, symbol=symbol, series=series, band=frame[band], dates=_dates(frame, effective_from, filename)
    )


def _nse_changes(frame: pd.DataFrame, effective_from: dt.date | None, filename: str) -> pd.DataFrame:
    symbol, series = _required(frame, "symbol"), _column(frame, "series")
    new = _required(frame, "to", "newband", "newpriceband", "revisedband")
    return _normalise(
        frame, symbol=symbol, series=series, band=frame[new], dates=_dates(frame, effective_from, filename)
    )


def _bse_circuit(frame: pd.DataFrame, effective_from: dt.date | None, filename: str) -> pd.DataFrame:
    code = _required(frame, "scripcode", "securitycode", "sccode")
    band = _required(frame, "circuitfilter", "circuit", "band", "pricebandpercent", "circuitfilterpercent")
    group = _column(frame, "group", "scripgroup")
    return _normalise(frame, symbol=code, series=group, band=frame[band], dates=_dates(frame, effective_from, filename))


@dataclass(frozen=True)
class _Layout:
    name: str
    exchange: ExchangeCode
    needs: tuple[tuple[str, ...], ...]  # each entry: one of these header keys must be present
    parse: Callable[[pd.DataFrame, dt.date | None, str], pd.DataFrame]


LAYOUTS: tuple[_Layout, ...] = (
    _Layout(
        "nse_band_changes",
        ExchangeCode.NSE,
        (("symbol",), ("from", "oldband", "oldpriceband"), ("to", "newband", "newpriceband", "revisedband")),
        _nse_changes,
    ),
    _Layout("nse_band_list", ExchangeCode.NSE, (("symbol",), ("band", "priceband")), _nse_list),
    _Layout(
        "bse_circuit",
        ExchangeCode.BSE,
        (
            ("scripcode", "securitycode", "sccode"),
            ("circuitfilter", "circuit", "band", "pricebandpercent", "circuitfilterpercent"),
        ),
        _bse_circuit,
    ),
)


def parse_band_file(data: bytes, *, filename: str, effective_from: dt.date | None = None) -> BandFile:
    """Detect the layout from the header and return the normalised rows; raises BandFileError."""
    text = data.decode("utf-8-sig", errors="replace")
    if not text.strip():
        raise BandFileError(f"{filename!r} is empty")
    if text.lstrip()[:1] == "<":
        raise BandFileError(f"{filename!r} is an HTML page, not a band file (an error page from the archive?)")
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, ValueError) as exc:
        raise BandFileError(f"{filename!r} is not a readable CSV: {exc}") from exc
    keys = {_key(c) for c in frame.columns}
    for layout in LAYOUTS:
        if all(any(k in keys for k in need) for need in layout.needs):
            rows = layout.parse(frame, effective_from, filename)
            duplicated = rows.duplicated(["symbol", "series", "effective_from"], keep=False)
            if duplicated.any():
                names = sorted(set(rows.loc[duplicated, "symbol"]))[:10]
                raise BandFileError(f"the same symbol and date appear twice: {', '.join(names)}; nothing was loaded")
            return BandFile(layout=layout.name, exchange=layout.exchange.value, frame=rows.reset_index(drop=True))
    raise BandFileError(
        f"{filename!r} is no band file this platform reads (header: {', '.join(map(str, frame.columns[:8]))}); "
        "expected NSE's sec_list (Symbol, Series, Band), NSE's eq_band_changes (Symbol, From, To) "
        "or BSE's circuit filter list (Scrip Code, Circuit Filter)"
    )
