#!/usr/bin/env python3
"""Open backtest HTML reports in headless Chromium and fail on any console error or network request.

    scripts/check_report_chromium.py var/reports/backtest-1.html [more.html ...] [--chromium PATH]

Chromium (Debian's ``chromium``; ``apt-get install chromium`` where absent) is driven over the
DevTools protocol on a pipe (``--remote-debugging-pipe``: no port, no websocket library). For each
file it records:

- console calls of level error or assert (``Runtime.consoleAPICalled``),
- uncaught exceptions (``Runtime.exceptionThrown``),
- browser log entries of level error (``Log.entryAdded``: failed loads, CSP and the like),
- every request that is not ``file:`` or ``data:`` (the report must be self-contained),

and, after the load event and a settling pause, how many Plotly charts rendered
(``.js-plotly-plot``) and how many trade rows the table shows. It exits 1 when any file has an
error, a network request or no chart; 2 when Chromium cannot be found or started. Standard library
only, so it runs with any Python 3.11.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
    "--remote-debugging-pipe",
)
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")


class ChromiumError(RuntimeError):
    pass


@dataclass
class PageCheck:
    path: Path
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    charts: int = 0
    trade_rows: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors and not self.requests and self.charts > 0


class DevTools:
    """The DevTools protocol over Chromium's pipe: fd 3 carries commands in, fd 4 replies out (NUL-separated)."""

    def __init__(self, binary: str, profile: Path) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire_pipes() -> None:
            # Copies first: one of the two may itself sit on fd 3 or 4.
            reader, writer = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(reader, 3)
            os.dup2(writer, 4)

        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=wire_pipes,  # the pipes must sit on fds 3 and 4 of the child
            pass_fds=(3, 4),
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read(timeout=60.0)
            if reply is None:
                raise ChromiumError(f"no reply to {method}")
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise ChromiumError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)

    def _read(self, *, timeout: float) -> dict[str, Any] | None:
        import select

        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._from_chrome], [], [], left)
            if not ready:
                return None
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise ChromiumError("Chromium closed the DevTools pipe: " + self._stderr_tail())
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        parsed: dict[str, Any] = json.loads(message)
        return parsed

    def pump(self, seconds: float) -> None:
        """Collect events for ``seconds``."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            event = self._read(timeout=left)
            if event is not None:
                self.events.append(event)

    def wait_for(self, method: str, *, session: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        seen = len(self.events)
        while True:
            for event in self.events[seen:]:
                if event.get("method") == method and event.get("sessionId") == session:
                    return True
            seen = len(self.events)
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            arrived = self._read(timeout=left)
            if arrived is not None:
                self.events.append(arrived)

    def _stderr_tail(self) -> str:
        if self.proc.poll() is None or self.proc.stderr is None:
            return "(still running)"
        return self.proc.stderr.read().decode(errors="replace")[-2000:]

    def close(self) -> None:
        with contextlib.suppress(ChromiumError, OSError):
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            with contextlib.suppress(OSError):
                os.close(fd)


def _describe(event: dict[str, Any]) -> str | None:
    """An error message for an event that is a console error, an exception or an error log; else None."""
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        args = [a.get("value", a.get("description", "")) for a in params.get("args", [])]
        return f"console.{params['type']}: " + " ".join(map(str, args))
    if method == "Runtime.exceptionThrown":
        details = params.get("exceptionDetails", {})
        exc = details.get("exception", {})
        return f"uncaught exception: {exc.get('description') or details.get('text')}"
    if method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
        entry = params["entry"]
        return f"log error ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}".strip()
    return None


def check_page(tools: DevTools, path: Path, *, settle: float) -> PageCheck:
    check = PageCheck(path=path)
    started = time.monotonic()
    target = tools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Runtime", "Log", "Page", "Network"):
        tools.send(f"{domain}.enable", session=session)
    first_event = len(tools.events)
    tools.send("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
    if not tools.wait_for("Page.loadEventFired", session=session, timeout=120.0):
        check.errors.append("the page did not finish loading within 120 s")
    tools.pump(settle)
    for event in tools.events[first_event:]:
        if event.get("sessionId") != session:
            continue
        message = _describe(event)
        if message:
            check.errors.append(message)
        if event.get("method") == "Network.requestWillBeSent":
            url = event["params"]["request"]["url"]
            if not url.startswith(("file:", "data:")):
                check.requests.append(url)
    counts = tools.send(
        "Runtime.evaluate",
        {
            "expression": "JSON.stringify([document.querySelectorAll('.js-plotly-plot').length,"
            " document.querySelectorAll('#trades tbody tr').length])",
            "returnByValue": True,
        },
        session=session,
    )
    check.charts, check.trade_rows = json.loads(counts["result"]["value"])
    tools.send("Target.closeTarget", {"targetId": target})
    check.seconds = time.monotonic() - started
    return check


def find_chromium(explicit: str | None) -> str:
    if explicit:
        return explicit
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    raise ChromiumError("no Chromium found: apt-get install chromium (Debian), or pass --chromium PATH")


def check_reports(paths: list[Path], *, chromium: str | None = None, settle: float = 2.0) -> list[PageCheck]:
    """Open each report in one fresh headless Chromium profile and return what was seen."""
    binary = find_chromium(chromium)
    with tempfile.TemporaryDirectory(prefix="vcp-chromium-") as profile:
        tools = DevTools(binary, Path(profile))
        try:
            return [check_page(tools, path, settle=settle) for path in paths]
        finally:
            tools.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", type=Path, help="HTML report files")
    parser.add_argument("--chromium", default=None, help="Chromium binary (default: found on PATH)")
    parser.add_argument("--settle", type=float, default=2.0, help="Seconds to keep listening after the load event")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.reports if not p.is_file()]
    if missing:
        print(f"not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        checks = check_reports(args.reports, chromium=args.chromium, settle=args.settle)
    except ChromiumError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for check in checks:
        status = "OK" if check.ok else "FAIL"
        print(
            f"{status} {check.path} ({check.path.stat().st_size / 1e6:.1f} MB): {check.charts} charts, "
            f"{check.trade_rows} trade rows shown, {len(check.errors)} console errors, "
            f"{len(check.requests)} network requests, {check.seconds:.1f} s"
        )
        for message in check.errors:
            print(f"  error: {message}")
        for url in check.requests:
            print(f"  request: {url}")
    return 0 if all(c.ok for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
