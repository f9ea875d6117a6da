"""Test helpers for the exchange archives: UDiFF files written from bars, and a loopback archive that misbehaves.

``ArchiveServer`` is ``http.server`` in a thread on 127.0.0.1 (never the real sites). Each path has a
script of answers, served in order (the last one repeats): ``ok(body)``, ``status(403)``,
``slow(seconds, body)``, ``truncated(body)``, ``html()``. It records every request's headers.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd

UDIFF_HEADER = [
    "TradDt",
    "BizDt",
    "Sgmt",
    "Src",
    "FinInstrmTp",
    "FinInstrmId",
    "ISIN",
    "TckrSymb",
    "SctySrs",
    "XpryDt",
    "FininstrmActlXpryDt",
    "StrkPric",
    "OptnTp",
    "FinInstrmNm",
    "OpnPric",
    "HghPric",
    "LwPric",
    "ClsPric",
    "LastPric",
    "PrvsClsgPric",
    "UndrlygPric",
    "SttlmPric",
    "OpnIntrst",
    "ChngInOpnIntrst",
    "TtlTradgVol",
    "TtlTrfVal",
    "TtlNbOfTxsExctd",
    "SsnId",
    "NewBrdLotQty",
    "Rmks",
    "Rsvd1",
    "Rsvd2",
    "Rsvd3",
    "Rsvd4",
]


def _number(value: object) -> str:
    return "" if value is None or pd.isna(value) else f"{float(value):.2f}"


def _whole(value: object) -> str:
    return "" if value is None or pd.isna(value) else str(int(float(value)))


def udiff_csv(bars: pd.DataFrame, *, exchange: str, kinds: pd.Series | None = None) -> bytes:
    """``bars`` (a normalised frame, one date) in the UDiFF CM layout of ``exchange``.

    NSE: ``TckrSymb`` is the symbol, ``FinInstrmId`` a running number. BSE: ``FinInstrmId`` is the
    symbol (the scrip code) and ``TckrSymb`` a ticker made from the name. ``kinds`` gives
    ``FinInstrmTp`` per row (default STK).
    """
    out = pd.DataFrame("", index=range(len(bars)), columns=UDIFF_HEADER)
    rows = bars.reset_index(drop=True)
    day = pd.to_datetime(rows["date"]).dt.strftime("%Y-%m-%d")
    out["TradDt"] = day
    out["BizDt"] = day
    out["Sgmt"] = "CM"
    out["Src"] = exchange
    out["FinInstrmTp"] = "STK" if kinds is None else kinds.reset_index(drop=True)
    names = rows["name"] if "name" in rows else rows["symbol"]
    if exchange == "BSE":
        out["FinInstrmId"] = rows["symbol"].astype(str)
        out["TckrSymb"] = names.astype(str).str.replace(r"[^A-Z0-9]", "", regex=True).str[:10]
    else:
        out["FinInstrmId"] = [str(n + 1) for n in range(len(rows))]
        out["TckrSymb"] = rows["symbol"].astype(str)
    out["ISIN"] = rows.get("isin", "")
    out["SctySrs"] = rows["series"]
    out["FinInstrmNm"] = names
    for target, source in (
        ("OpnPric", "open"),
        ("HghPric", "high"),
        ("LwPric", "low"),
        ("ClsPric", "close"),
        ("LastPric", "last"),
        ("PrvsClsgPric", "prev_close"),
    ):
        out[target] = [_number(v) for v in rows[source]]
    out["SttlmPric"] = out["ClsPric"]
    out["TtlTradgVol"] = [_whole(v) for v in rows["volume"]]
    out["TtlTrfVal"] = [_number(v) for v in rows["turnover"]] if "turnover" in rows else ""
    out["TtlNbOfTxsExctd"] = [_whole(v) for v in rows["trades"]] if "trades" in rows else ""
    out["SsnId"] = "F1"
    out["NewBrdLotQty"] = "1"
    return out.to_csv(index=False).encode()


def udiff_name(exchange: str, day: dt.date, *, zipped: bool = False) -> str:
    suffix = ".csv" if exchange == "NSE" else ".CSV"
    return f"BhavCopy_{exchange}_CM_0_0_0_{day:%Y%m%d}_F_0000{suffix}" + (".zip" if zipped else "")


def zipped(name: str, data: bytes) -> bytes:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return sink.getvalue()


def bse_legacy_as_udiff(path: Path, *, day: dt.date) -> bytes:
    """The real BSE equity bhavcopy (``SC_CODE, SC_NAME, ...``) rewritten into BSE's UDiFF layout:
    the same trades, a different layout (as the NSE UDiFF sample was made from the full bhavcopy).
    SC_TYPE Q (equity) becomes FinInstrmTp STK, D (debentures) DBT, B (bonds) BND."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    raw.columns = [name.strip() for name in raw.columns]
    raw = raw.apply(lambda column: column.str.strip())
    bars = pd.DataFrame(
        {
            "date": pd.Timestamp(day),
            "symbol": raw["SC_CODE"],
            "name": raw["SC_NAME"],
            "series": raw["SC_GROUP"],
            "isin": raw.get("ISIN_CODE", ""),
            "open": raw["OPEN"].astype(float),
            "high": raw["HIGH"].astype(float),
            "low": raw["LOW"].astype(float),
            "close": raw["CLOSE"].astype(float),
            "last": raw["LAST"].astype(float),
            "prev_close": raw["PREVCLOSE"].astype(float),
            "volume": raw["NO_OF_SHRS"].astype(float),
            "turnover": raw["NET_TURNOV"].astype(float),
            "trades": raw["NO_TRADES"].astype(float),
        }
    )
    kinds = raw["SC_TYPE"].map({"Q": "STK", "D": "DBT", "B": "BND"}).fillna("OTHR")
    return udiff_csv(bars, exchange="BSE", kinds=kinds)


# --- the loopback archive -------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    kind: str  # ok, status, slow, truncated, html
    body: bytes = b""
    status: int = 200
    seconds: float = 0.0


def ok(body: bytes) -> Answer:
    return Answer("ok", body)


def status(code: int) -> Answer:
    return Answer("status", f"error {code}".encode(), status=code)


def slow(seconds: float, body: bytes) -> Answer:
    return Answer("slow", body, seconds=seconds)


def truncated(body: bytes) -> Answer:
    return Answer("truncated", body)


def html() -> Answer:
    return Answer("html", b"<!DOCTYPE html><html><head><title>Access Denied</title></head><body>no</body></html>")


@dataclass
class ArchiveServer:
    """Serves ``scripts[path]`` answers in order; ``requests`` lists (path, headers) of every request."""

    scripts: dict[str, list[Answer]] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def hits(self, path: str) -> int:
        return sum(1 for seen, _ in self.requests if seen == path)

    def _answer(self, path: str) -> Answer | None:
        script = self.scripts.get(path)
        if not script:
            return None
        return script.pop(0) if len(script) > 1 else script[0]

    def start(self) -> ArchiveServer:
        archive = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # quiet
                return

            def do_GET(self) -> None:
                archive.requests.append((self.path, dict(self.headers.items())))
                answer = archive._answer(self.path)
                if answer is None:
                    self.send_error(404, "not published")
                    return
                if answer.kind == "slow":
                    time.sleep(answer.seconds)
                if answer.kind == "status":
                    self.send_response(answer.status)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                    return
                content_type = "text/html" if answer.kind == "html" else "application/octet-stream"
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if answer.kind == "truncated":
                    self.wfile.write(answer.body[: len(answer.body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(answer.body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def running_archive() -> Iterator[ArchiveServer]:
    """For a fixture: ``yield from running_archive()``."""
    server = ArchiveServer().start()
    try:
        yield server
    finally:
        server.stop()


def point_settings_at(settings: Any, server: ArchiveServer, *, data_dir: Path) -> None:
    """Fetch from ``server`` into ``data_dir``/inbox with short waits (backoff 0.05 s, deadline 3 s)."""
    settings.VCP_DATA_DIR = data_dir
    settings.VCP_FETCH_URLS = {
        "NSE": server.url + "/content/cm/BhavCopy_NSE_CM_0_0_0_{yyyymmdd}_F_0000.csv.zip",
        "BSE": server.url + "/download/BhavCopy/Equity/BhavCopy_BSE_CM_0_0_0_{yyyymmdd}_F_0000.CSV",
    }
    settings.VCP_FETCH_EXCHANGES = ["NSE", "BSE"]
    settings.VCP_FETCH_BACKOFF_SECONDS = 0.05
    settings.VCP_FETCH_BACKOFF_MAX_SECONDS = 0.2
    settings.VCP_FETCH_TIMEOUT_SECONDS = 1.0
    settings.VCP_FETCH_DEADLINE_SECONDS = 3


def nse_path(day: dt.date) -> str:
    return f"/content/cm/{udiff_name('NSE', day, zipped=True)}"


def bse_path(day: dt.date) -> str:
    return f"/download/BhavCopy/Equity/{udiff_name('BSE', day)}"


def day_bars(day: dt.date, *, exchange: str = "NSE") -> pd.DataFrame:
    symbols = ["AAA", "BBB", "CCC"] if exchange == "NSE" else ["500002", "500003", "500008"]
    return pd.DataFrame(
        {
            "date": pd.Timestamp(day),
            "symbol": symbols,
            "name": ["Aaa Ltd", "Bbb Ltd", "Ccc Ltd"],
            "series": "EQ" if exchange == "NSE" else "A",
            "isin": ["INE000000001", "INE000000002", "INE000000003"],
            "open": [10.0, 20.0, 30.0],
            "high": [11.0, 21.0, 31.0],
            "low": [9.5, 19.5, 29.5],
            "close": [10.5, 20.5, 30.5],
            "last": [10.5, 20.5, 30.5],
            "prev_close": [10.0, 20.0, 30.0],
            "volume": [1000.0, 2000.0, 3000.0],
            "turnover": [10500.0, 41000.0, 91500.0],
            "trades": [10.0, 20.0, 30.0],
        }
    )


def nse_zip(day: dt.date, *, dated: dt.date | None = None) -> bytes:
    return zipped(udiff_name("NSE", day), udiff_csv(day_bars(dated or day), exchange="NSE"))


def bse_csv(day: dt.date) -> bytes:
    return udiff_csv(day_bars(day, exchange="BSE"), exchange="BSE")
