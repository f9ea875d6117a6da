"""The walkthrough's screenshots show real pages: each is the one `scripts/walkthrough.py` recorded in
docs/walkthrough/manifest.json, and the page behind it answered 2xx with no error title."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

SHOTS = Path(__file__).resolve().parents[1] / "docs" / "walkthrough"
ERROR_WORDS = ("error", "not found", "forbidden", "bad gateway", "traceback", "exception", "page unavailable")


def _manifest() -> list[dict[str, object]]:
    path = SHOTS / "manifest.json"
    assert path.is_file(), f"{path} is missing: run `make walkthrough` to rebuild the screenshots"
    return list(json.loads(path.read_text()))


def test_every_screenshot_is_in_the_manifest_and_unchanged_since() -> None:
    manifest = {entry["file"]: entry for entry in _manifest()}
    pngs = sorted(p.name for p in SHOTS.glob("*.png"))
    assert len(pngs) >= 10
    assert pngs == sorted(manifest), "screenshots and manifest disagree: rerun `make walkthrough`"
    for name in pngs:
        digest = hashlib.sha256((SHOTS / name).read_bytes()).hexdigest()
        assert digest == manifest[name]["sha256"], f"{name} is not the screenshot the walkthrough checked"


@pytest.mark.parametrize("entry", _manifest() if (SHOTS / "manifest.json").is_file() else [], ids=lambda e: e["file"])
def test_no_screenshot_shows_an_error_page(entry: dict[str, object]) -> None:
    status = entry["status"]
    assert isinstance(status, int), f"{entry['file']}: no HTTP status recorded for {entry['path']}"
    assert 200 <= status < 300, f"{entry['file']}: {entry['path']} answered {status}"
    title = str(entry["title"]).lower()
    assert not any(word in title for word in ERROR_WORDS), f"{entry['file']} shows {entry['title']!r}"
