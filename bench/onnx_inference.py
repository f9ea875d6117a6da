"""ONNX Runtime vs native booster latency, and model load time, for the production model shape.

The model: 300 trees, depth 6, 25 features (XGBoost hist; LightGBM with the same tree count and
depth for comparison), trained on synthetic rows with 3% NaN. Latencies are medians over many runs
of scoring 1 row (the API's hot path) and 11,000 rows (the whole universe, batch scoring), with the
calibration applied. ONNX runs on one intra-op thread (as served); native on 1 and on 2 threads.
"Load" is the artifact store's load (sha256 of every file + parse) plus building both scorers.

Run: .venv/bin/python bench/onnx_inference.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modelregistry.artifacts import load, save_version
from modelregistry.export import export_onnx
from modelregistry.runtime import Calibration, NativeScorer, OnnxScorer

N_FEATURES = 25
TREES = 300
DEPTH = 6
BATCH = 11_000
NAMES = tuple(f"feature_{i:02d}" for i in range(N_FEATURES))


def _data(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, N_FEATURES)).astype(np.float32)
    x[rng.random(x.shape) < 0.03] = np.nan
    logit = np.nan_to_num(x[:, :6]).sum(axis=1) - 3.5
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    return x, y


def _train(algorithm: str, x: np.ndarray, y: np.ndarray) -> object:
    if algorithm == "xgboost":
        import xgboost as xgb

        params = {"objective": "binary:logistic", "tree_method": "hist", "max_depth": DEPTH, "nthread": 2}
        return xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=TREES)
    import lightgbm as lgb

    params = {"objective": "binary", "max_depth": DEPTH, "num_leaves": 2**DEPTH, "num_threads": 2, "verbosity": -1}
    return lgb.train(params, lgb.Dataset(x, label=y), num_boost_round=TREES)


def _median_ms(fn: Callable[[], object], *, repeat: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def bench(algorithm: str) -> None:
    x_train, y_train = _data(30_000, seed=0)
    x_score, _ = _data(BATCH, seed=1)
    model = _train(algorithm, x_train, y_train)
    calibration = Calibration("identity")
    exported = export_onnx(model, rows=x_score, threshold=0.5, calibration=calibration)
    with tempfile.TemporaryDirectory() as root:
        manifest = save_version(
            root,
            name="bench",
            version="1",
            native_model=model,
            onnx_bytes=exported.onnx_bytes,
            metadata={"feature_names": list(NAMES), "threshold": 0.5, "calibration": calibration.to_dict()},
        )
        loads = []
        for _ in range(5):
            started = time.perf_counter()
            artifact = load(root, name="bench", version="1")
            onnx_scorer = OnnxScorer.from_artifact(artifact)
            native_1 = NativeScorer.from_artifact(artifact, n_threads=1)
            loads.append(time.perf_counter() - started)
        native_2 = NativeScorer.from_artifact(load(root, name="bench", version="1"), n_threads=2)
        sizes = {name: size / 1e6 for name, size in manifest.sizes.items()}

    row = x_score[:1]
    print(f"\n{algorithm}: {TREES} trees, depth {DEPTH}, {N_FEATURES} features")
    print("  files (MB): " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(sizes.items())))
    print(
        f"  parity on {BATCH} rows: max |diff| {exported.parity.max_abs_diff:.2e}, "
        f"flips {exported.parity.decision_flips}"
    )
    print(f"  load (verify sha256 + parse + both scorers): median {statistics.median(loads) * 1000:.1f} ms")
    print(f"  {'rows':>7} | {'ONNX (1 thread)':>16} | {'native 1 thread':>16} | {'native 2 threads':>16}")
    for label, batch, repeat in (("1", row, 2000), (f"{BATCH:,}", x_score, 15)):
        cells = [
            _median_ms(lambda s=scorer, b=batch: s.predict_proba(b), repeat=repeat)
            for scorer in (onnx_scorer, native_1, native_2)
        ]
        print(f"  {label:>7} | " + " | ".join(f"{c:13.3f} ms" for c in cells))


def main() -> None:
    for algorithm in ("xgboost", "lightgbm"):
        bench(algorithm)


if __name__ == "__main__":
    main()
