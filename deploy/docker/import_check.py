"""Build-time proof that a trimmed virtualenv still runs the platform's heavy dependencies.

``python import_check.py serve`` exercises what web serves with; ``full`` adds training and export.
Each check imports the module and does a little real work, so a shared object broken by stripping or a
file deleted by slim_venv.sh fails ``docker build`` instead of the first request in production.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable


def _arrow() -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pacsv.read_csv(io.BytesIO(b"symbol,close\nABC,10.5\nXYZ,2.25\n"))
    sink = io.BytesIO()
    pq.write_table(table, sink)
    assert pq.read_table(io.BytesIO(sink.getvalue())).equals(table)
    assert pa.compute.sum(table["close"]).as_py() == 12.75


def _numeric() -> None:
    import numpy as np
    import pandas as pd
    from scipy import ndimage, stats

    x = np.arange(20, dtype=np.float64)
    assert ndimage.maximum_filter1d(x, 3)[0] == 1.0
    assert stats.ks_2samp(x, x).pvalue == 1.0
    assert float(np.linalg.solve(np.eye(3), np.ones(3)).sum()) == 3.0
    assert pd.DataFrame({"a": x}).rolling(5).mean()["a"].iloc[-1] == 17.0


def _models() -> None:
    import lightgbm as lgb
    import numpy as np
    import onnxruntime as ort
    import xgboost as xgb

    rng = np.random.default_rng(0)
    x = rng.random((200, 4)).astype(np.float32)
    y = (x[:, 0] > 0.5).astype(np.float32)
    booster = xgb.train({"max_depth": 2, "nthread": 1}, xgb.DMatrix(x, label=y), num_boost_round=3)
    assert booster.predict(xgb.DMatrix(x[:2]), pred_contribs=True).shape == (2, 5)
    lgb.train({"verbose": -1, "num_threads": 1}, lgb.Dataset(x, label=y), num_boost_round=3)
    assert "CPUExecutionProvider" in ort.get_available_providers()


def _web() -> None:
    import celery
    import django
    import exchange_calendars
    import plotly.graph_objects as go
    import psycopg2
    import rest_framework

    assert exchange_calendars.get_calendar("XBOM")
    assert go.Figure(go.Scatter(x=[1], y=[1])).to_json()
    for version in (django.VERSION, rest_framework.VERSION, celery.__version__, psycopg2.__version__):
        assert version


def _training() -> None:
    import numpy as np
    import onnxruntime as ort
    import xgboost as xgb
    from onnxmltools import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType
    from sklearn.isotonic import IsotonicRegression
    from statsmodels.stats.contingency_tables import mcnemar

    rng = np.random.default_rng(0)
    x = rng.random((200, 4)).astype(np.float32)
    y = (x[:, 0] > 0.5).astype(np.float32)
    model = xgb.XGBClassifier(n_estimators=3, max_depth=2, n_jobs=1).fit(x, y)
    onnx_model = convert_xgboost(model, initial_types=[("input", FloatTensorType([None, 4]))])
    session = ort.InferenceSession(onnx_model.SerializeToString(), providers=["CPUExecutionProvider"])
    assert session.run(None, {"input": x[:2]})[1].shape == (2, 2)
    IsotonicRegression().fit(x[:, 0], y)
    assert mcnemar([[10, 5], [3, 10]]).pvalue > 0


CHECKS: dict[str, list[Callable[[], None]]] = {
    "serve": [_arrow, _numeric, _models, _web],
    "full": [_arrow, _numeric, _models, _web, _training],
}


def main(target: str) -> None:
    for check in CHECKS[target]:
        check()
        print(f"import check {target}: {check.__name__.lstrip('_')} ok")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "full")
