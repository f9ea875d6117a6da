# VCP Platform image: web (gunicorn), Celery worker and beat share it. Target size < 500 MB:
# xgboost-cpu instead of xgboost keeps CUDA (~700 MB) out (docs/architecture.md).
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY requirements/ /tmp/requirements/
RUN pip install -r /tmp/requirements/prod.txt \
 && find /opt/venv -name "__pycache__" -prune -exec rm -rf {} + \
 && find /opt/venv -name "tests" -path "*site-packages/*" -prune -exec rm -rf {} +

FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=vcp_platform.settings \
    VCP_DATA_DIR=/data
# libgomp: OpenMP runtime that LightGBM and XGBoost link against.
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 vcp && mkdir -p /data && chown vcp /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=vcp . /app
USER vcp
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/api/v1/health', timeout=4).status == 200 else 1)"
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "vcp_platform.wsgi:application"]
