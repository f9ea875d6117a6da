"""The artifact store: one immutable directory per model version, checksummed, written atomically.

Pure module (no Django): the Django side passes ``settings.VCP_ARTIFACT_ROOT`` as ``root``.

Layout of ``<root>/<name>/<version>/``:

- ``model.ubj`` (XGBoost, its binary JSON) or ``model.txt`` (LightGBM): the native booster
- ``model.onnx``: the parity-checked ONNX export
- ``metadata.json``: feature list and hash, training window, data fingerprint, code version (git
  commit when available), library versions, threshold, calibration, metrics, ...
- ``manifest.json``: the sha256 and size of each of the three files above

A version is written into a hidden temporary directory beside it and renamed into place, so a crash
leaves either the whole version or nothing. ``load`` re-hashes every file on every load and parses
the very bytes it hashed; a mismatch raises ``ArtifactIntegrityError`` naming the file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import platform
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import numpy as np

from modelregistry.runtime import Algorithm, Calibration, algorithm_of

MANIFEST = "manifest.json"
METADATA = "metadata.json"
ONNX_FILE = "model.onnx"
NATIVE_FILE: dict[str, str] = {"xgboost": "model.ubj", "lightgbm": "model.txt"}
REQUIRED_METADATA = ("feature_names", "threshold", "calibration")
TRACKED_LIBRARIES = (
    "numpy",
    "scikit-learn",
    "xgboost-cpu",
    "xgboost",
    "lightgbm",
    "onnx",
    "onnxruntime",
    "onnxmltools",
)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_MANIFEST_FORMAT = 1


class ArtifactIntegrityError(RuntimeError):
    """A stored file is missing, unexpected, or does not match its recorded sha256."""


class ArtifactExistsError(FileExistsError):
    """Versions are immutable: this name/version is already stored."""


@dataclass(frozen=True)
class ArtifactManifest:
    name: str
    version: str
    algorithm: Algorithm
    created_at: str  # ISO 8601, UTC
    files: dict[str, str]  # file name -> sha256 hex
    sizes: dict[str, int]  # file name -> bytes
    directory: Path

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": _MANIFEST_FORMAT,
            "name": self.name,
            "version": self.version,
            "algorithm": self.algorithm,
            "created_at": self.created_at,
            "files": {f: {"sha256": self.files[f], "bytes": self.sizes[f]} for f in sorted(self.files)},
        }


@dataclass(frozen=True)
class LoadedArtifact:
    manifest: ArtifactManifest
    metadata: dict[str, Any]
    onnx_bytes: bytes
    native_model: Any  # xgboost.Booster | lightgbm.Booster | None when loaded without it

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(self.metadata["feature_names"])

    @property
    def threshold(self) -> float:
        return float(self.metadata["threshold"])

    @property
    def new_circuit_threshold(self) -> float:
        """The decision threshold of the new-circuit ranking (versions before it: the main one)."""
        return float(self.metadata.get("new_circuit_threshold", self.metadata["threshold"]))

    @property
    def calibration(self) -> Calibration:
        return Calibration.from_dict(self.metadata["calibration"])


def _check_name(kind: str, value: str) -> str:
    if not _SAFE_NAME.match(value):
        raise ValueError(
            f"artifact {kind} {value!r} must be letters, digits, '.', '_' or '-' (not starting with those)"
        )
    return value


def version_dir(root: Path | str, name: str, version: str) -> Path:
    return Path(root) / _check_name("name", name) / _check_name("version", version)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def feature_set_hash(feature_names: list[str] | tuple[str, ...]) -> str:
    """sha256 of the ordered feature names: a model only scores rows built with the same list."""
    return sha256_hex("\n".join(feature_names).encode())


def code_version() -> str | None:
    """The git commit of this checkout (``+dirty`` with uncommitted changes), or None outside git."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}+dirty" if dirty else commit


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in TRACKED_LIBRARIES:
        try:
            versions[package] = importlib_metadata.version(package)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions


def _jsonable(value: Any) -> Any:
    """Plain JSON types: numpy scalars/arrays unwrapped, NaN/inf as None (JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path | np.datetime64 | dt.date):
        return str(value)
    return value


def _native_bytes(model: Any) -> bytes:
    if algorithm_of(model) == "xgboost":
        return bytes(model.save_raw(raw_format="ubj"))
    return str(model.model_to_string()).encode()


def _native_from_bytes(algorithm: str, data: bytes) -> Any:
    if algorithm == "xgboost":
        import xgboost as xgb

        booster = xgb.Booster()
        booster.load_model(bytearray(data))
        return booster
    import lightgbm as lgb

    return lgb.Booster(model_str=data.decode())


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def save_version(
    root: Path | str,
    *,
    name: str,
    version: str,
    native_model: Any,
    onnx_bytes: bytes,
    metadata: dict[str, Any],
) -> ArtifactManifest:
    """Store one model version atomically and return its manifest.

    ``metadata`` must hold ``feature_names``, ``threshold`` and ``calibration`` (a dict, as from
    ``Calibration.to_dict``); ``TrainResult.metadata()`` has them. Added when absent: ``feature_hash``,
    ``code_version``, ``library_versions``; always set: ``name``, ``version``, ``algorithm``, ``created_at``.
    """
    missing = [k for k in REQUIRED_METADATA if k not in metadata]
    if missing:
        raise ValueError(f"artifact metadata lacks {missing}")
    Calibration.from_dict(metadata["calibration"])  # fail before writing anything
    final = version_dir(root, name, version)
    if final.exists():
        raise ArtifactExistsError(f"model version {name}/{version} already exists at {final}")
    algorithm = algorithm_of(native_model)
    created_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    meta = {
        "feature_hash": feature_set_hash(list(metadata["feature_names"])),
        "code_version": code_version(),
        "library_versions": library_versions(),
        **metadata,
        "name": name,
        "version": version,
        "algorithm": algorithm,
        "created_at": created_at,
    }
    payloads = {
        NATIVE_FILE[algorithm]: _native_bytes(native_model),
        ONNX_FILE: bytes(onnx_bytes),
        METADATA: json.dumps(_jsonable(meta), indent=2, sort_keys=True, allow_nan=False).encode(),
    }
    manifest = ArtifactManifest(
        name=name,
        version=version,
        algorithm=algorithm,
        created_at=created_at,
        files={f: sha256_hex(b) for f, b in payloads.items()},
        sizes={f: len(b) for f, b in payloads.items()},
        directory=final,
    )
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.parent / f".tmp-{version}-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        for file_name, data in payloads.items():
            _write_synced(staging / file_name, data)
        _write_synced(staging / MANIFEST, json.dumps(manifest.to_dict(), indent=2).encode())
        _fsync_dir(staging)
        try:
            # rename() refuses a non-empty target, so two writers of one version cannot both win.
            os.rename(staging, final)
        except OSError as exc:
            raise ArtifactExistsError(f"model version {name}/{version} already exists at {final}") from exc
        _fsync_dir(final.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    try:
        data = json.loads(path.read_bytes())
        files = data["files"]
        if not isinstance(files, dict):
            raise TypeError("files is not an object")
    except FileNotFoundError as exc:
        raise ArtifactIntegrityError(f"{path}: manifest is missing") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise ArtifactIntegrityError(f"{path}: manifest is unreadable ({exc})") from exc
    return data


def load(root: Path | str, *, name: str, version: str, native: bool = True) -> LoadedArtifact:
    """Load a stored version, verifying the sha256 of every file first.

    ``native=False`` skips parsing the native booster (it is still verified): the ONNX-only hot path.
    """
    directory = version_dir(root, name, version)
    if not directory.is_dir():
        raise FileNotFoundError(f"no stored model version {name}/{version} under {root}")
    data = _read_manifest(directory)
    algorithm = data.get("algorithm")
    if algorithm not in NATIVE_FILE:
        raise ArtifactIntegrityError(f"{directory / MANIFEST}: unknown algorithm {algorithm!r}")
    expected = {NATIVE_FILE[algorithm], ONNX_FILE, METADATA}
    if set(data["files"]) != expected:
        raise ArtifactIntegrityError(
            f"{directory / MANIFEST}: lists {sorted(data['files'])}, expected exactly {sorted(expected)}"
        )
    contents: dict[str, bytes] = {}
    for file_name in sorted(expected):
        path = directory / file_name
        try:
            blob = path.read_bytes()
        except FileNotFoundError as exc:
            raise ArtifactIntegrityError(f"{path}: file is missing") from exc
        recorded = data["files"][file_name].get("sha256") if isinstance(data["files"][file_name], dict) else None
        actual = sha256_hex(blob)
        if actual != recorded:
            raise ArtifactIntegrityError(f"{path}: sha256 {actual} does not match the manifest's {recorded}")
        contents[file_name] = blob
    manifest = ArtifactManifest(
        name=data["name"],
        version=data["version"],
        algorithm=algorithm,
        created_at=data["created_at"],
        files={f: data["files"][f]["sha256"] for f in expected},
        sizes={f: len(contents[f]) for f in expected},
        directory=directory,
    )
    return LoadedArtifact(
        manifest=manifest,
        metadata=json.loads(contents[METADATA]),
        onnx_bytes=contents[ONNX_FILE],
        native_model=_native_from_bytes(algorithm, contents[NATIVE_FILE[algorithm]]) if native else None,
    )


class ArtifactStoreError(OSError):
    """The artifact store cannot take a new version (unwritable directory, or too little free space)."""


# A version of a 300-tree model is a few MB; refuse to start a training with less than this free.
MIN_FREE_BYTES = 64 * 1024 * 1024


def check_writable(root: Path | str, *, name: str, min_free_bytes: int = MIN_FREE_BYTES) -> None:
    """Raise ``ArtifactStoreError`` unless a version of ``name`` could be written under ``root`` now.

    Creates ``<root>/<name>/`` if needed and writes and removes a probe file there, then checks the
    free space: called before a training starts, so a full disk or a read-only mount fails in a
    second with one line, not after an hour of training."""
    base = Path(root) / _check_name("name", name)
    probe = base / f".write-probe-{uuid.uuid4().hex}"
    try:
        base.mkdir(parents=True, exist_ok=True)
        _write_synced(probe, b"probe")
        probe.unlink()
        free = shutil.disk_usage(base).free
    except OSError as exc:
        probe.unlink(missing_ok=True)
        raise ArtifactStoreError(f"the artifact directory {base} is not writable: {exc.strerror or exc}") from exc
    if free < min_free_bytes:
        raise ArtifactStoreError(
            f"the artifact directory {base} has {free // 2**20} MB free; at least {min_free_bytes // 2**20} MB "
            "are needed for a new version"
        )


def verify_files(root: Path | str, *, name: str, version: str, expected: dict[str, str]) -> None:
    """Re-hash a stored version's files against ``expected`` (file name -> sha256, the registry's record).

    Raises ``ArtifactIntegrityError`` naming the first file that is missing or differs. The running
    check of the loader: reads the three files (no parsing), so it costs about a millisecond per MB.
    """
    directory = version_dir(root, name, version)
    for file_name in sorted(expected):
        path = directory / file_name
        try:
            actual = sha256_hex(path.read_bytes())
        except FileNotFoundError as exc:
            raise ArtifactIntegrityError(f"{path}: file is missing") from exc
        if actual != expected[file_name]:
            raise ArtifactIntegrityError(f"{path}: sha256 {actual} does not match the registry's {expected[file_name]}")


def list_versions(root: Path | str, *, name: str) -> list[str]:
    """Stored versions of ``name`` (complete ones only: staging directories are hidden), sorted."""
    base = Path(root) / _check_name("name", name)
    if not base.is_dir():
        return []
    return sorted(
        p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).is_file()
    )
