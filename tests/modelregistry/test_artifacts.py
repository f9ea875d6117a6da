from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelregistry import artifacts
from modelregistry.artifacts import (
    ArtifactExistsError,
    ArtifactIntegrityError,
    feature_set_hash,
    list_versions,
    load,
    save_version,
)
from modelregistry.export import export_onnx
from modelregistry.runtime import NativeScorer, OnnxScorer
from modelregistry.training import Split, TrainResult, build_dataset, synthetic_cube, temporal_split, train

FAST = {"xgboost": {"nthread": 1, "eta": 0.3}, "lightgbm": {"num_threads": 1, "learning_rate": 0.2}}
NAMES = tuple(f"feature_{i:02d}" for i in range(25))


@pytest.fixture(scope="module")
def split() -> Split:
    values, labels, dates, info = synthetic_cube(n_dates=100, n_stocks=120, seed=6)
    ds = build_dataset(values, labels, dates, row_info=info, feature_names=NAMES)
    return temporal_split(ds, train_end=dates[59], valid_end=dates[79], test_end=dates[-1], horizon=1)


@pytest.fixture(scope="module", params=["xgboost", "lightgbm"])
def trained(request: pytest.FixtureRequest, split: Split) -> tuple[TrainResult, bytes]:
    result = train(request.param, split, params=FAST[request.param], rounds=30)
    exported = export_onnx(result.model, rows=split.test.X, threshold=result.threshold, calibration=result.calibration)
    return result, exported.onnx_bytes


def _save(
    root: Path, trained: tuple[TrainResult, bytes], version: str = "1", **extra: Any
) -> artifacts.ArtifactManifest:
    result, onnx_bytes = trained
    return save_version(
        root,
        name="upper-circuit",
        version=version,
        native_model=result.model,
        onnx_bytes=onnx_bytes,
        metadata={**result.metadata(), "data_fingerprint": "abc123", **extra},
    )


def test_saved_version_loads_back_and_scores_identically(
    tmp_path: Path, trained: tuple[TrainResult, bytes], split: Split
) -> None:
    result, _ = trained
    _save(tmp_path, trained)

    loaded = load(tmp_path, name="upper-circuit", version="1")

    assert loaded.feature_names == NAMES
    assert loaded.threshold == result.threshold
    assert loaded.calibration == result.calibration
    expected = NativeScorer(
        result.model, calibration=result.calibration, threshold=result.threshold, feature_names=NAMES
    ).predict_proba(split.test.X)
    np.testing.assert_array_equal(NativeScorer.from_artifact(loaded).predict_proba(split.test.X), expected)
    np.testing.assert_allclose(OnnxScorer.from_artifact(loaded).predict_proba(split.test.X), expected, atol=1e-5)


def test_manifest_records_the_sha256_of_every_file(tmp_path: Path, trained: tuple[TrainResult, bytes]) -> None:
    manifest = _save(tmp_path, trained)

    on_disk = json.loads((manifest.directory / "manifest.json").read_text())
    native_file = artifacts.NATIVE_FILE[trained[0].algorithm]
    assert set(on_disk["files"]) == {native_file, "model.onnx", "metadata.json"}
    for name, entry in on_disk["files"].items():
        data = (manifest.directory / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(data).hexdigest() == manifest.files[name]
        assert entry["bytes"] == len(data)


def test_metadata_records_features_code_libraries_and_training_facts(
    tmp_path: Path, trained: tuple[TrainResult, bytes]
) -> None:
    manifest = _save(tmp_path, trained, version="7")

    meta = json.loads((manifest.directory / "metadata.json").read_text())
    assert meta["feature_names"] == list(NAMES)
    assert meta["feature_hash"] == feature_set_hash(NAMES)
    assert meta["data_fingerprint"] == "abc123"
    assert meta["version"] == "7"
    assert meta["algorithm"] == trained[0].algorithm
    assert meta["code_version"] is None or len(meta["code_version"].split("+")[0]) == 40
    assert {"numpy", "onnxruntime", "onnxmltools", "lightgbm"} <= set(meta["library_versions"])
    assert meta["windows"]["test"]["rows"] > 0
    assert "pr_auc" in meta["metrics"]["test"]["all"]["model"]


@pytest.mark.parametrize("victim", ["model.onnx", "metadata.json", "native"])
def test_a_tampered_file_fails_every_load_naming_the_file(
    tmp_path: Path, trained: tuple[TrainResult, bytes], victim: str
) -> None:
    manifest = _save(tmp_path, trained)
    load(tmp_path, name="upper-circuit", version="1")  # a first load succeeds ...
    name = artifacts.NATIVE_FILE[trained[0].algorithm] if victim == "native" else victim
    path = manifest.directory / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    for _ in range(2):  # ... and every later one re-checks
        with pytest.raises(ArtifactIntegrityError, match=name):
            load(tmp_path, name="upper-circuit", version="1", native=False)


def test_a_missing_file_fails_the_load(tmp_path: Path, trained: tuple[TrainResult, bytes]) -> None:
    manifest = _save(tmp_path, trained)
    (manifest.directory / "model.onnx").unlink()

    with pytest.raises(ArtifactIntegrityError, match=r"model\.onnx: file is missing"):
        load(tmp_path, name="upper-circuit", version="1")


def test_versions_are_immutable(tmp_path: Path, trained: tuple[TrainResult, bytes]) -> None:
    _save(tmp_path, trained)
    with pytest.raises(ArtifactExistsError):
        _save(tmp_path, trained)


def test_a_crash_mid_write_leaves_no_version_behind(
    tmp_path: Path, trained: tuple[TrainResult, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[str] = []
    real_write = artifacts._write_synced

    def write_then_crash(path: Path, data: bytes) -> None:
        real_write(path, data)
        written.append(path.name)
        if len(written) == 2:
            raise OSError("disk full")

    monkeypatch.setattr(artifacts, "_write_synced", write_then_crash)
    with pytest.raises(OSError, match="disk full"):
        _save(tmp_path, trained)

    assert len(written) == 2
    assert list_versions(tmp_path, name="upper-circuit") == []
    assert os.listdir(tmp_path / "upper-circuit") == []
    monkeypatch.setattr(artifacts, "_write_synced", real_write)
    _save(tmp_path, trained)
    assert list_versions(tmp_path, name="upper-circuit") == ["1"]


def test_unsafe_names_and_incomplete_metadata_are_refused(tmp_path: Path, trained: tuple[TrainResult, bytes]) -> None:
    result, onnx_bytes = trained
    with pytest.raises(ValueError, match="version"):
        save_version(
            tmp_path,
            name="m",
            version="../x",
            native_model=result.model,
            onnx_bytes=onnx_bytes,
            metadata=result.metadata(),
        )
    with pytest.raises(ValueError, match="threshold"):
        save_version(
            tmp_path,
            name="m",
            version="1",
            native_model=result.model,
            onnx_bytes=onnx_bytes,
            metadata={"feature_names": list(NAMES), "calibration": {"method": "identity"}},
        )
    assert not (tmp_path / "m").exists()
