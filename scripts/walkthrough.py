#!/usr/bin/env python3
"""Drive a fresh demo in headless Chromium and capture the screenshots (and short videos) of the docs.

    .venv/bin/python scripts/walkthrough.py [--data-dir var/walkthrough] [--port 8017] [--reuse] [--no-videos]

1. Builds the demo from scratch (``make demo-data DEMO_DIR=<data-dir>``: synthetic market, two
   models, the best promoted, a scored batch, a drift check, the demo user); ``--reuse`` keeps a
   data directory built before.
2. Serves it with ``manage.py runserver`` on 127.0.0.1:<port> (no autoreload), as ``make demo`` does.
3. Logs in as the demo user and walks the pages with Playwright, using Debian's ``chromium``
   (``apt-get install -y chromium``: Playwright's own browser download needs the internet):
   the dashboard, the model list, the promote confirmation (candidate beside production), the
   promotion itself and its rollback, a backtest started from the staff form and its report, the
   drift table, Swagger UI and ReDoc (served from this host: drf-spectacular-sidecar).
4. Writes PNGs to ``docs/walkthrough/`` and, unless ``--no-videos``, two short WebM videos (the
   system overview and the API); see docs/walkthrough.md for why there is no deployment video.

It exits non-zero when a page does not show what it should (each step checks a text), so a broken
page is a failed walkthrough, not a silently wrong picture.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Response,
    Route,
    ViewportSize,
    expect,
    sync_playwright,
)

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
VIEWPORT: ViewportSize = {"width": 1400, "height": 900}
VIDEO_SIZE: ViewportSize = {"width": 1024, "height": 640}


def demo_env(data_dir: Path) -> dict[str, str]:
    """The environment of ``make demo``: SQLite under ``data_dir``, no Redis, Celery eager."""
    return {
        **os.environ,
        "DEBUG": "1",
        "VCP_LOG_TO_FILE": "0",
        "VCP_DATA_DIR": str(data_dir),
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
    }


def build_demo(data_dir: Path) -> None:
    print(f"== building a fresh demo in {data_dir} (make demo-data; several minutes)", flush=True)
    subprocess.run(["make", "demo-data", f"DEMO_DIR={data_dir}"], cwd=ROOT, check=True)


def demo_password(data_dir: Path) -> str:
    """A new password for the demo user (``demo_user`` sets a random one on every run)."""
    out = subprocess.run(
        [PY, "manage.py", "demo_user"], cwd=ROOT, env=demo_env(data_dir), check=True, capture_output=True, text=True
    ).stdout
    match = re.search(r"password: (\S+)", out)
    if match is None:
        raise SystemExit(f"demo_user printed no password:\n{out}")
    return match.group(1)


@contextmanager
def server(data_dir: Path, port: int) -> Iterator[str]:
    """``runserver`` on loopback until the block ends; yields its base URL."""
    base = f"http://127.0.0.1:{port}"
    log = (data_dir / "walkthrough-server.log").open("w")
    proc = subprocess.Popen(
        [PY, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=ROOT,
        env=demo_env(data_dir),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/admin/login/", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"runserver did not start on {base}: see {log.name}") from None
                time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def login(page: Page, base: str, password: str) -> None:
    page.goto(f"{base}/admin/login/?next=/staff/")
    page.fill("#id_username", "demo")
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    expect(page.locator("h1")).to_have_text("Dashboard", timeout=30_000)


# What each screenshot shows, written beside them as manifest.json: tests/test_walkthrough.py fails
# when a screenshot is not the one recorded, or its page answered an error.
MANIFEST: list[dict[str, Any]] = []
_DOCUMENT_STATUS: dict[str, int] = {}


def track_document_status(page: Page) -> None:
    """Remember the HTTP status of the page's last top-level document (after redirects)."""

    def on_response(response: Response) -> None:
        if response.request.resource_type == "document" and response.frame == page.main_frame:
            _DOCUMENT_STATUS["last"] = response.status

    page.on("response", on_response)


def shot(page: Page, out: Path, name: str, *, full_page: bool = False, locator: str | None = None) -> None:
    path = out / f"{name}.png"
    if locator:
        page.locator(locator).screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=full_page)
    MANIFEST.append(
        {
            "file": path.name,
            "path": urlsplit(page.url).path,
            "title": page.title(),
            "status": _DOCUMENT_STATUS.get("last"),
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        }
    )
    print(f"   {path.relative_to(ROOT)}", flush=True)


def version_ids(page: Page) -> dict[str, str]:
    """``{status: change-page id}`` of the model versions in the changelist."""
    ids: dict[str, str] = {}
    for row in page.locator("#result_list tbody tr").all():
        href = row.locator("th a").first.get_attribute("href") or ""
        match = re.search(r"/(\d+)/change/", href)
        status = row.locator("td.field-status_badge").inner_text().strip().lower()
        if match:
            ids.setdefault(status, match.group(1))
    return ids


def confirm(page: Page, url: str, reason: str) -> None:
    page.goto(url)
    page.fill("#id_reason", reason)
    page.click("input[type=submit][value=Confirm]")
    expect(page.locator(".messagelist")).to_contain_text("Done:")


def walk_pages(page: Page, base: str, out: Path) -> None:
    print("== staff dashboard", flush=True)
    page.goto(f"{base}/staff/")
    expect(page.locator("#candidates")).to_be_visible()
    shot(page, out, "01-dashboard")
    page.locator("#candidates").scroll_into_view_if_needed()
    shot(page, out, "02-dashboard-candidates", locator="main")

    print("== drift", flush=True)
    page.goto(f"{base}/staff/")
    expect(page.locator("#drift-chart-wrap")).to_be_visible()
    page.wait_for_timeout(1500)  # Plotly draws after load
    drift = page.locator("#drift-chart-wrap")
    drift.scroll_into_view_if_needed()
    shot(page, out, "03-drift")

    print("== admin: model versions, promote and roll back", flush=True)
    changelist = f"{base}/admin/modelregistry/modelversion/"
    page.goto(changelist)
    overflow = page.evaluate(
        "(() => { const t = document.querySelector('#result_list'); "
        "return t.scrollWidth - t.parentElement.clientWidth; })()"
    )
    if overflow > 0:
        raise SystemExit(f"the model-version list is {overflow} px wider than its box at {VIEWPORT['width']} px")
    shot(page, out, "04-admin-model-versions")
    ids = version_ids(page)
    # A fresh demo has one candidate; a reused one has the version the last walkthrough rolled back (archived).
    candidate = ids.get("candidate") or ids.get("archived")
    if candidate is None:
        raise SystemExit(f"no candidate version to promote in the demo: {ids}")
    page.goto(f"{base}/admin/modelregistry/modelversion/{candidate}/change/")
    expect(page.locator("table.vcp-json").first).to_be_visible()
    page.locator("table.vcp-json").first.scroll_into_view_if_needed()
    shot(page, out, "05-admin-version-detail")
    promote = f"{changelist}{candidate}/promote/"
    page.goto(promote)
    expect(page.locator("#confirm-compare")).to_contain_text("in production now")
    shot(page, out, "06-admin-promote-confirmation", full_page=True)
    confirm(page, promote, "walkthrough: promote the candidate to show the flow")
    shot(page, out, "07-admin-promoted")
    rollback = f"{changelist}{candidate}/rollback/"
    page.goto(rollback)
    expect(page.locator("#content-main")).to_contain_text("returns to it")
    shot(page, out, "08-admin-rollback-confirmation", full_page=True)
    confirm(page, rollback, "walkthrough: roll back to the version make demo promoted")
    shot(page, out, "09-admin-rolled-back")

    print("== backtest (started from the staff form; the demo runs it inline)", flush=True)
    page.goto(f"{base}/staff/backtests/")
    option = page.locator("#id_version option", has_text="production").first
    label = option.inner_text()
    match = re.search(r"out-of-sample from (\d{4}-\d{2}-\d{2})", label)
    if match is None:
        raise SystemExit(f"the version choice does not say where out-of-sample starts: {label}")
    page.select_option("#id_version", value=option.get_attribute("value"))
    page.fill("#id_start", match.group(1))
    page.fill("#id_end", dt.date.today().isoformat())
    page.click("form[action$='backtests/run'] button[type=submit]")
    expect(page.locator("main")).to_contain_text("is queued")
    shot(page, out, "10-backtests")
    page.locator("table a").first.click()
    expect(page.locator("#sample-note")).to_be_visible()
    frame = page.frame_locator("#report-frame")
    expect(frame.locator("#trades tbody tr").first).to_be_visible(timeout=60_000)
    page.wait_for_timeout(2500)  # the frame resizes itself to its content after Plotly draws
    shot(page, out, "11-backtest-detail")
    shot(page, out, "12-backtest-report-full", full_page=True)

    print("== API docs (offline: drf-spectacular-sidecar)", flush=True)
    page.goto(f"{base}/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_be_visible(timeout=30_000)
    shot(page, out, "13-swagger-ui")
    page.goto(f"{base}/api/redoc/")
    expect(page.locator("redoc, .redoc-wrap, [role=navigation]").first).to_be_visible(timeout=30_000)
    page.wait_for_timeout(1000)
    shot(page, out, "14-redoc")


def playwright_ffmpeg() -> bool:
    """Point Playwright's video encoder at Debian's ``ffmpeg`` (``apt-get install ffmpeg``): Playwright's
    own build is a download, which these machines cannot make. False when neither is there."""
    import json

    import playwright

    browsers = Path(playwright.__file__).parent / "driver" / "package" / "browsers.json"
    revision = next(b["revision"] for b in json.loads(browsers.read_text())["browsers"] if b["name"] == "ffmpeg")
    cache = Path(os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or Path.home() / ".cache" / "ms-playwright")
    target = cache / f"ffmpeg-{revision}" / "ffmpeg-linux"
    if target.exists():
        return True
    system = shutil.which("ffmpeg")
    if system is None:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(system)
    return True


def record_videos(browser: Browser, base: str, password: str, out: Path) -> None:
    """Two short clips: the staff pages (overview) and the API docs; each a few hundred KB."""
    raw = out / "_video"
    for name, steps in (("video-system-overview", _overview), ("video-api", _api_tour)):
        shutil.rmtree(raw, ignore_errors=True)
        context: BrowserContext = browser.new_context(
            viewport=VIDEO_SIZE, record_video_dir=str(raw), record_video_size={"width": 1024, "height": 640}
        )
        page = context.new_page()
        login(page, base, password)
        steps(page, base)
        video = page.video
        context.close()  # the video is written when its context closes
        if video is not None:
            target = out / f"{name}.webm"
            Path(video.path()).replace(target)
            print(f"   {target.relative_to(ROOT)} ({target.stat().st_size / 1e6:.2f} MB)", flush=True)
    shutil.rmtree(raw, ignore_errors=True)


def _overview(page: Page, base: str) -> None:
    page.wait_for_timeout(1500)
    for _ in range(3):
        page.mouse.wheel(0, 600)
        page.wait_for_timeout(900)
    page.goto(f"{base}/admin/modelregistry/modelversion/")
    page.wait_for_timeout(1500)
    page.goto(f"{base}/staff/backtests/")
    page.wait_for_timeout(1500)
    page.locator("table a").first.click()
    page.wait_for_timeout(3000)


def _api_tour(page: Page, base: str) -> None:
    page.goto(f"{base}/api/docs/")
    page.locator(".swagger-ui .info .title").wait_for(timeout=30_000)
    page.wait_for_timeout(1200)
    page.locator(".opblock-summary").first.click()
    page.wait_for_timeout(1500)
    page.mouse.wheel(0, 600)
    page.wait_for_timeout(1200)
    page.goto(f"{base}/api/redoc/")
    page.wait_for_timeout(2500)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var" / "walkthrough")
    parser.add_argument("--port", type=int, default=8017)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "walkthrough")
    parser.add_argument("--reuse", action="store_true", help="keep the demo in --data-dir (skip the rebuild)")
    parser.add_argument("--no-videos", action="store_true")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    data_dir: Path = args.data_dir.resolve()
    if not Path(args.chromium).exists():
        print(f"no Chromium at {args.chromium}: apt-get install -y chromium", file=sys.stderr)
        return 2
    if not (args.reuse and (data_dir / "db.sqlite3").exists()):
        build_demo(data_dir)
    args.out.mkdir(parents=True, exist_ok=True)
    password = demo_password(data_dir)
    with server(data_dir, args.port) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport=VIEWPORT)
        # The servers have no internet: any request off this host is refused and fails the walkthrough,
        # so Swagger UI and ReDoc are checked to render from drf-spectacular-sidecar alone.
        external: list[str] = []

        def refuse(route: Route) -> None:
            external.append(route.request.url)
            route.abort()

        context.route(re.compile(r"^(?!http://127\.0\.0\.1[:/]|data:|blob:)"), refuse)
        page = context.new_page()
        track_document_status(page)
        login(page, base, password)
        walk_pages(page, base, args.out)
        (args.out / "manifest.json").write_text(json.dumps(sorted(MANIFEST, key=lambda m: m["file"]), indent=1) + "\n")
        context.close()
        if external:
            raise SystemExit(f"pages asked for {len(external)} off-host resources: {sorted(set(external))[:5]}")
        if args.no_videos:
            pass
        elif not playwright_ffmpeg():
            print("== videos skipped: no ffmpeg (apt-get install -y ffmpeg)", flush=True)
        else:
            print("== videos", flush=True)
            record_videos(browser, base, password, args.out)
        browser.close()
    print(f"done: {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
