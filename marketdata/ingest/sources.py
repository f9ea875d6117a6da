"""Paths given to the ingester -> the files to load: plain files, folder contents, zip members.

A folder contributes its regular, non-hidden files (not its subfolders, so an inbox's ``done/``
and ``failed/`` are left alone). A zip archive, recognised by its bytes, contributes its CSV
members; an archive without one becomes a source whose read fails with the reason.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from marketdata.ingest.errors import IngestError

MAX_LABEL = 500  # IngestRun.source


@dataclass(frozen=True)
class SourceFile:
    """One file to load. ``label`` names it for people and for IngestRun.source."""

    label: str
    filename: str
    path: Path
    member: str | None = None
    problem: str | None = None

    def read(self) -> bytes:
        if self.problem is not None:
            raise IngestError(self.problem)
        if self.member is None:
            return self.path.read_bytes()
        with zipfile.ZipFile(self.path) as archive:
            return archive.read(self.member)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _label(text: str) -> str:
    return text if len(text) <= MAX_LABEL else "..." + text[-(MAX_LABEL - 3) :]


def _zip_members(path: Path) -> list[SourceFile]:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [info.filename for info in archive.infolist() if not info.is_dir()]
    except zipfile.BadZipFile as exc:
        return [SourceFile(_label(str(path)), path.name, path, problem=f"the zip archive is damaged ({exc})")]
    members = [
        name
        for name in names
        if name.lower().endswith(".csv") and not name.startswith("__MACOSX/") and not Path(name).name.startswith(".")
    ]
    if not members:
        listed = ", ".join(names[:10]) or "nothing"
        return [
            SourceFile(
                _label(str(path)),
                path.name,
                path,
                problem=f"the zip archive contains no CSV file (it holds {listed}); download the bhavcopy again",
            )
        ]
    return [SourceFile(_label(f"{path}:{name}"), Path(name).name, path, member=name) for name in sorted(members)]


def _expand_file(path: Path) -> list[SourceFile]:
    if zipfile.is_zipfile(path):
        return _zip_members(path)
    return [SourceFile(_label(str(path)), path.name, path)]


def expand_sources(path: Path) -> list[SourceFile]:
    """The files ``path`` stands for, in name order. Raises IngestError when there are none."""
    if not path.exists():
        raise IngestError(f"{path} does not exist: check the path")
    if path.is_file():
        return _expand_file(path)
    files = sorted(child for child in path.iterdir() if child.is_file() and not child.name.startswith("."))
    if not files:
        raise IngestError(f"the folder {path} holds no files to ingest")
    return [source for child in files for source in _expand_file(child)]
