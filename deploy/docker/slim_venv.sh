#!/bin/sh
# Trim a virtualenv to what the processes import at run time (the figures are in docs/deployment.md).
# Every deletion here is of something no code path of the platform loads; the Dockerfile's
# deploy/docker/import_check.py then imports the real entry points, so a wrong cut fails the build.
set -eu
venv="$1"
sp="$(echo "$venv"/lib/python3.*/site-packages)"

# Bytecode is compiled afterwards, once, for the interpreter in the image.
find "$venv" -name __pycache__ -prune -exec rm -rf {} +
# Test suites and their data (pandas, numpy, scipy, sklearn, statsmodels, pyarrow, onnx ...).
find "$sp" -depth -type d \( -name tests -o -name testing_data \) -path "$sp/*/*" -exec rm -rf {} +
rm -rf "$sp/onnx/backend/test/data"
# C/C++/Cython sources and headers: only needed to build extensions against these packages.
find "$sp" -type f \( -name '*.pyx' -o -name '*.pxd' -o -name '*.pxi' -o -name '*.h' -o -name '*.hpp' \
  -o -name '*.c' -o -name '*.cc' -o -name '*.cpp' -o -name '*.a' \) -delete
find "$sp" -depth -type d -name include -path "$sp/*/include" -empty -delete 2>/dev/null || true
rm -rf "$sp/pyarrow/include" "$sp/numpy/_core/include" "$sp/numpy/_core/lib/libnpymath.a"
# pyarrow components the platform never imports and pyarrow.lib does not link: Flight RPC and the
# cloud file systems (pyarrow.fs treats a missing _s3fs/_gcsfs/_azurefs/_hdfs as "not built").
# Substrait stays: libarrow_python links it.
rm -f "$sp"/pyarrow/libarrow_flight.so* "$sp"/pyarrow/_flight*.so "$sp"/pyarrow/libarrow_python_flight.so* \
  "$sp"/pyarrow/libarrow_s3.so* "$sp"/pyarrow/_s3fs*.so "$sp"/pyarrow/_gcsfs*.so "$sp"/pyarrow/_azurefs*.so \
  "$sp"/pyarrow/_hdfs*.so
# The wheel ships libX.so and libX.so.N.M.P as copies of libX.so.N, the only name anything loads.
for lib in "$sp"/pyarrow/lib*.so.[0-9]*; do
  case "$lib" in *.so.*.*) continue ;; esac
  rm -f "${lib%.so.*}.so" "$lib".*
done
# gettext sources, and catalogues of languages the platform never activates: LANGUAGE_CODE is
# en-us and there is no LocaleMiddleware, so only English catalogues are read (Django, DRF, ...).
find "$sp" -name '*.po' -delete
find "$sp" -path '*/locale/*/LC_MESSAGES/*.mo' ! -path '*/locale/en*' -delete
# onnxruntime's C API library for other languages (the Python binding is self-contained and does not
# load it) and its offline tooling; plotly's Jupyter widget bundles (the staff pages embed plotly.min.js).
rm -rf "$sp"/onnxruntime/capi/libonnxruntime.so* "$sp/onnxruntime/transformers" "$sp/onnxruntime/quantization" \
  "$sp/onnxruntime/tools" "$sp/plotly/labextension" "$sp/plotly/package_data/widgetbundle.js"
# Type stubs: for type checkers, not for the interpreter.
find "$sp" -name '*.pyi' -delete
# Debug symbols: many wheels ship unstripped shared objects (pyarrow alone: 153 MB -> 119 MB). Never
# the libraries auditwheel vendored (*.libs) or patched to find them (an RPATH into *.libs): patchelf
# rewrote those, and stripping them corrupts them ("ELF load command address/offset not
# page-aligned"). With SLIM_ONLY_NEWER set, only files installed after that marker: rewriting an
# untouched file would copy it into a second layer.
find "$sp" -name '*.so*' -type f ! -path '*.libs/*' ${SLIM_ONLY_NEWER:+-newer "$SLIM_ONLY_NEWER"} | while read -r so; do
  readelf -d "$so" 2>/dev/null | grep -Eq '(RPATH|RUNPATH).*\.libs' || strip --strip-unneeded "$so" 2>/dev/null || true
done
# Sample data sets bundled for tutorials: the platform loads none of them.
rm -rf "$sp/plotly/package_data/datasets" "$sp/sklearn/datasets/images" "$sp/sklearn/datasets/descr"
find "$sp/statsmodels/datasets" -type f \( -name '*.csv' -o -name '*.dta' -o -name '*.csv.gz' \) -delete 2>/dev/null || true
# The installer itself: the image is immutable, nothing pip-installs at run time.
# setuptools stays where an installed package declares it as a requirement.
if [ -z "$("$venv/bin/python" -m pip show setuptools 2>/dev/null | sed -n 's/^Required-by: *//p')" ]; then
  "$venv/bin/python" -m pip uninstall -q -y setuptools >/dev/null 2>&1 || true
fi
"$venv/bin/python" -m pip uninstall -q -y pip >/dev/null
rm -f "$venv"/bin/pip*
