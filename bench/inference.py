"""Inference report: every runtime that can score the production model shape, and the levers that shrink it.

    .venv/bin/python bench/inference.py [--extra-path DIR] [--quick]

The model shape: 300 trees, depth 6, 25 features, trained on synthetic rows with 3% NaN (as
bench/onnx_inference.py). For XGBoost and LightGBM, each runtime available here is measured:

- native booster (``inplace_predict`` / ``predict``, 1 thread), ONNX Runtime (1 intra-op thread, as served),
- treelite's GTIL interpreter and a tl2cgen-compiled shared library, lleaves (LightGBM only), when
  they import (``--extra-path`` adds a directory such as a ``pip install --target`` to sys.path);
  a runtime that does not import is reported as such, not skipped silently.

For each: median latency of 1 row and of 11,000 rows, size on disk, load time, and parity (max
|p - p_native| over the 11,000 rows). Then the levers that do exist for tree ensembles: fewer trees,
shallower trees, and pruning (post-hoc ``gamma`` pruning of the XGBoost model), each with its
latency, size and holdout ROC-AUC. INT8 quantisation is not among them: ONNX's TreeEnsemble
operators have float thresholds and no integer kernels, and ONNX Runtime's quantiser only rewrites
MatMul/Gemm/Conv, so it has nothing to quantise in a tree model. Float32 thresholds are what ONNX
already uses (the parity column shows what that costs).

Writes var/bench/inference.csv (one row per measurement).
"""

from __future__ import annotations

import argparse
import csv
import importlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

N_FEATURES = 25
TREES = 300
DEPTH = 6
BATCH = 11_000


def _data(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, N_FEATURES)).astype(np.float32)
    x[rng.random(x.shape) < 0.03] = np.nan
    logit = np.nan_to_num(x[:, :6]).sum(axis=1) - 3.5
    y = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    return x, y


def _median(fn: Callable[[], object], *, repeat: int, warmup: int = 3) -> float:
    """Median seconds of ``fn`` over ``repeat`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))


def _train(algorithm: str, x: np.ndarray, y: np.ndarray, *, trees: int = TREES, depth: int = DEPTH) -> Any:
    if algorithm == "xgboost":
        import xgboost as xgb

        params = {"objective": "binary:logistic", "tree_method": "hist", "max_depth": depth, "nthread": 2}
        return xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=trees)
    import lightgbm as lgb

    params = {"objective": "binary", "max_depth": depth, "num_leaves": 2**depth, "num_threads": 2, "verbosity": -1}
    return lgb.train(params, lgb.Dataset(x, label=y), num_boost_round=trees)


def _native(algorithm: str, path: Path) -> tuple[Callable[[np.ndarray], np.ndarray], Any]:
    if algorithm == "xgboost":
        import xgboost as xgb

        booster = xgb.Booster(params={"nthread": 1}, model_file=str(path))
        return lambda b: booster.inplace_predict(b), booster
    import lightgbm as lgb

    model = lgb.Booster(model_file=str(path))
    return lambda b: model.predict(b, num_threads=1), model


def _onnx(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    outputs = [o.name for o in session.get_outputs()]
    probability = outputs[1] if len(outputs) > 1 else outputs[0]

    def run(b: np.ndarray) -> np.ndarray:
        out = np.asarray(session.run([probability], {name: b})[0])
        return out[:, 1] if out.ndim == 2 else out

    return run


class Report:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, **row: Any) -> None:
        self.rows.append(row)

    def print_table(self, title: str, columns: list[tuple[str, str]], rows: list[dict[str, Any]]) -> None:
        print(f"\n{title}")
        print("| " + " | ".join(label for label, _ in columns) + " |")
        print("|" + "---|" * len(columns))
        for row in rows:
            print("| " + " | ".join(str(row.get(key, "")) for _, key in columns) + " |")


def _measure(
    report: Report,
    *,
    algorithm: str,
    runtime: str,
    load: Callable[[], Callable[[np.ndarray], np.ndarray]],
    files: list[Path],
    x: np.ndarray,
    reference: np.ndarray | None,
    repeat_one: int,
    repeat_batch: int,
) -> np.ndarray:
    loads = []
    for _ in range(3):
        started = time.perf_counter()
        predict = load()
        loads.append(time.perf_counter() - started)
    one = x[:1]
    p = np.asarray(predict(x), dtype=np.float64).ravel()
    report.add(
        algorithm=algorithm,
        runtime=runtime,
        one_row_us=f"{_median(lambda: predict(one), repeat=repeat_one) * 1e6:.1f}",
        batch_ms=f"{_median(lambda: predict(x), repeat=repeat_batch) * 1e3:.1f}",
        size_kb=f"{sum(f.stat().st_size for f in files) / 1024:.0f}",
        load_ms=f"{statistics.median(loads) * 1e3:.1f}",
        parity=f"{np.max(np.abs(p - reference)):.2e}" if reference is not None else "reference",
    )
    return p


def _optional_runtimes(algorithm: str, model_path: Path, work: Path) -> dict[str, Any]:
    """name -> (loader, files) for treelite GTIL, tl2cgen and lleaves; name -> str when unavailable."""
    found: dict[str, Any] = {}
    try:
        treelite = importlib.import_module("treelite")
        loader = (
            (lambda: treelite.frontend.load_xgboost_model(str(model_path)))
            if algorithm == "xgboost"
            else (lambda: treelite.frontend.load_lightgbm_model(str(model_path)))
        )

        def gtil() -> Callable[[np.ndarray], np.ndarray]:
            model = loader()
            return lambda b: treelite.gtil.predict(model, b, nthread=1).reshape(len(b), -1)[:, -1]

        found["treelite GTIL"] = (gtil, [model_path])
        try:
            tl2cgen = importlib.import_module("tl2cgen")
            library = work / f"{algorithm}_tl2cgen.so"
            tl2cgen.export_lib(loader(), toolchain="gcc", libpath=str(library), params={"parallel_comp": 4})

            def compiled() -> Callable[[np.ndarray], np.ndarray]:
                predictor = tl2cgen.Predictor(str(library), nthread=1)
                return lambda b: np.asarray(predictor.predict(tl2cgen.DMatrix(b, dtype="float32"))).reshape(len(b), -1)[
                    :, -1
                ]

            found["tl2cgen (compiled C)"] = (compiled, [library])
        except Exception as exc:
            found["tl2cgen (compiled C)"] = f"unavailable: {type(exc).__name__}: {str(exc)[:120]}"
    except Exception as exc:
        found["treelite GTIL"] = f"unavailable: {type(exc).__name__}: {str(exc)[:120]}"
    if algorithm == "lightgbm":
        try:
            lleaves = importlib.import_module("lleaves")
            cache = work / "lleaves.o"

            def compiled_lleaves() -> Callable[[np.ndarray], np.ndarray]:
                model = lleaves.Model(model_file=str(model_path))
                model.compile(cache=str(cache))
                return lambda b: model.predict(b.astype(np.float64), n_jobs=1)

            compiled_lleaves()  # the first compile fills the cache; load time is then a cache load
            found["lleaves"] = (compiled_lleaves, [cache])
        except Exception as exc:
            found["lleaves"] = f"unavailable: {type(exc).__name__}: {str(exc)[:120]}"
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--extra-path", type=Path, help="a directory to append to sys.path (treelite, lleaves)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (make bench)")
    args = parser.parse_args()
    if args.extra_path:
        sys.path.append(str(args.extra_path))  # after the venv: its numpy & co. stay the ones used
    from modelregistry.export import convert_to_onnx

    repeat_one, repeat_batch = (300, 5) if args.quick else (2000, 15)
    x_train, y_train = _data(30_000, seed=0)
    x, y = _data(BATCH, seed=1)
    report = Report()
    unavailable: list[str] = []
    levers: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for algorithm in ("xgboost", "lightgbm"):
            model = _train(algorithm, x_train, y_train)
            native_path = work / f"{algorithm}.{'ubj' if algorithm == 'xgboost' else 'txt'}"
            model.save_model(str(native_path))
            onnx_path = work / f"{algorithm}.onnx"
            onnx_path.write_bytes(convert_to_onnx(model))
            reference = _measure(
                report,
                algorithm=algorithm,
                runtime="native",
                load=lambda a=algorithm, p=native_path: _native(a, p)[0],
                files=[native_path],
                x=x,
                reference=None,
                repeat_one=repeat_one,
                repeat_batch=repeat_batch,
            )
            _measure(
                report,
                algorithm=algorithm,
                runtime="ONNX Runtime",
                load=lambda p=onnx_path: _onnx(p),
                files=[onnx_path],
                x=x,
                reference=reference,
                repeat_one=repeat_one,
                repeat_batch=repeat_batch,
            )
            for runtime, found in _optional_runtimes(algorithm, native_path, work).items():
                if isinstance(found, str):
                    unavailable.append(f"{algorithm} / {runtime}: {found}")
                    continue
                loader, files = found
                _measure(
                    report,
                    algorithm=algorithm,
                    runtime=runtime,
                    load=loader,
                    files=files,
                    x=x,
                    reference=reference,
                    repeat_one=repeat_one,
                    repeat_batch=repeat_batch,
                )

        # The levers that exist for trees, on XGBoost served through ONNX Runtime.
        variants: list[tuple[str, Any]] = [
            ("300 trees, depth 6 (production shape)", _train("xgboost", x_train, y_train))
        ]
        variants.append(("100 trees, depth 6", _train("xgboost", x_train, y_train, trees=100)))
        variants.append(("300 trees, depth 4", _train("xgboost", x_train, y_train, depth=4)))
        import xgboost as xgb

        pruned = xgb.train(
            {"process_type": "update", "updater": "prune", "gamma": 5.0, "max_depth": DEPTH, "nthread": 2},
            xgb.DMatrix(x_train, label=y_train),
            num_boost_round=TREES,
            xgb_model=variants[0][1],
        )
        variants.append(("300 trees pruned (gamma 5)", pruned))
        for label, booster in variants:
            path = work / "lever.onnx"
            path.write_bytes(convert_to_onnx(booster))
            predict = _onnx(path)
            leaves = sum(line.count("leaf=") for line in booster.get_dump())
            levers.append(
                {
                    "variant": label,
                    "leaves": f"{leaves:,}",
                    "size_kb": f"{path.stat().st_size / 1024:.0f}",
                    "one_row_us": f"{_median(lambda p=predict: p(x[:1]), repeat=repeat_one) * 1e6:.1f}",
                    "batch_ms": f"{_median(lambda p=predict: p(x), repeat=repeat_batch) * 1e3:.1f}",
                    "auc": f"{_auc(y, predict(x)):.4f}",
                }
            )
    load = os.getloadavg()
    report.print_table(
        f"Runtimes ({TREES} trees, depth {DEPTH}, {N_FEATURES} features; 1 thread; load {load[0]:.1f})",
        [
            ("model", "algorithm"),
            ("runtime", "runtime"),
            ("1 row (us)", "one_row_us"),
            (f"{BATCH:,} rows (ms)", "batch_ms"),
            ("size (KB)", "size_kb"),
            ("load (ms)", "load_ms"),
            ("parity max abs diff", "parity"),
        ],
        report.rows,
    )
    for line in unavailable:
        print(f"  not measured: {line}")
    report.print_table(
        "Levers (XGBoost through ONNX Runtime; holdout ROC-AUC on the 11,000 scored rows)",
        [
            ("variant", "variant"),
            ("leaves", "leaves"),
            ("size (KB)", "size_kb"),
            ("1 row (us)", "one_row_us"),
            (f"{BATCH:,} rows (ms)", "batch_ms"),
            ("ROC-AUC", "auc"),
        ],
        levers,
    )
    print(
        "\nINT8 quantisation: not applicable. ONNX TreeEnsemble operators compare float thresholds and have no "
        "integer kernels; ONNX Runtime's quantiser rewrites MatMul/Gemm/Conv only, none of which a tree model has."
    )
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "inference.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["metric", "value", "unit", "note"])
        for row in report.rows:
            stem = f"inference_{row['algorithm']}_{row['runtime'].split()[0].lower()}"
            writer.writerow([f"{stem}_1row_us", row["one_row_us"], "us", f"load {load[0]:.1f}"])
            writer.writerow([f"{stem}_11k_ms", row["batch_ms"], "ms", f"parity {row['parity']}"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
