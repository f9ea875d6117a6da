# VCP Platform image, two targets from one Dockerfile (sizes per layer and per package, start and
# stop times: docs/deployment.md):
#   serve  web (gunicorn): requirements/serve.txt, no training libraries
#   full   worker, beat, migrate and one-off commands: requirements/train.txt; the default target
# `full` is `serve` plus one layer, so hosts and registries store the shared layers once.
#
# The final images start FROM scratch: the interpreter, its standard library, the ldd closure of every
# shared library, busybox for /bin/sh, the trimmed virtualenv and the app (deploy/docker/make_rootfs.sh).
# There is no apt or pip at run time; a dpkg status file lists the Debian packages the files came from.
#
# BASE_IMAGE defaults to the official slim Python image. Where Docker Hub is out of reach,
# scripts/offline_images.sh builds vcp/python:3.11-bookworm (Debian's python3.11) and passes it here.
# pip may need a CA bundle (a TLS-inspecting proxy, a private index): pass it as a BuildKit secret,
# `--secret id=pip_ca,src=/etc/ssl/certs/ca-certificates.crt`, never as a file in the context.
ARG BASE_IMAGE=python:3.11-slim-bookworm

# --- build: virtualenvs, trimmed, and the root file system around them ------------------------------
FROM ${BASE_IMAGE} AS build
ARG PIP_INDEX_URL=
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PYTHONDONTWRITEBYTECODE=1
# binutils: `strip` for pyarrow; libgomp1: LightGBM and XGBoost's OpenMP runtime; busybox-static:
# the final image's /bin/sh.
RUN apt-get update \
 && apt-get install -y --no-install-recommends binutils libgomp1 busybox-static \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
COPY deploy/docker/slim_venv.sh deploy/docker/import_check.py deploy/docker/make_rootfs.sh /opt/build/

FROM build AS build-serve
COPY requirements/serve.txt /opt/build/requirements/
RUN --mount=type=secret,id=pip_ca --mount=type=cache,target=/root/.cache/pip \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi; \
    /opt/venv/bin/pip install ${PIP_INDEX_URL:+--index-url "$PIP_INDEX_URL"} -r /opt/build/requirements/serve.txt \
 && /opt/venv/bin/pip freeze --all --exclude pip --exclude setuptools > /opt/build/serve.freeze \
 && sh /opt/build/slim_venv.sh /opt/venv \
 && /opt/venv/bin/python /opt/build/import_check.py serve \
 && find /opt/venv -name __pycache__ -prune -exec rm -rf {} + \
 && sh /opt/build/make_rootfs.sh /opt/rootfs /opt/venv

# The training extras go into the same venv; only the files they add are kept, as one extra layer,
# with any shared library they need that the serve root file system lacks.
FROM build-serve AS build-full
COPY requirements/train.txt /opt/build/requirements/
RUN --mount=type=secret,id=pip_ca --mount=type=cache,target=/root/.cache/pip \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi; \
    touch /opt/build/before-train \
 && /opt/venv/bin/python -m ensurepip >/dev/null \
 && /opt/venv/bin/python -m pip install ${PIP_INDEX_URL:+--index-url "$PIP_INDEX_URL"} \
      -r /opt/build/requirements/train.txt \
 && /opt/venv/bin/python -m pip freeze --all | grep -Fxf /opt/build/serve.freeze | cmp -s - /opt/build/serve.freeze \
 && SLIM_ONLY_NEWER=/opt/build/before-train sh /opt/build/slim_venv.sh /opt/venv \
 && /opt/venv/bin/python /opt/build/import_check.py full \
 && find /opt/venv -name __pycache__ -prune -exec rm -rf {} + \
 && mkdir /opt/train-layer \
 && find /opt/venv -newer /opt/build/before-train \( -type f -o -type l \) \
      -exec cp -a --parents {} /opt/train-layer/ \; \
 && sh /opt/build/make_rootfs.sh /opt/train-layer /opt/train-layer/opt/venv /opt/rootfs

# --- serve: the web image -------------------------------------------------------------------------
FROM scratch AS serve
COPY --from=build-serve /opt/rootfs/ /
COPY --from=build-serve /opt/venv /opt/venv
WORKDIR /app
COPY . /app
# The image ships no bytecode for the venv (56 MB for what the processes import, 90 MB for all of
# it: either breaks the 500 MB budget). Python compiles what a process imports into /tmp/pycache and
# every later process reuses it: health checks, `manage.py` one-offs, replaced gunicorn workers, and
# in docker-compose every app container, which share /tmp/pycache as a volume.
ENV PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/usr/sbin:/bin:/sbin \
    PYTHONPYCACHEPREFIX=/tmp/pycache \
    PYTHONUNBUFFERED=1 \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    HOME=/home/vcp \
    LANG=C.UTF-8 \
    DJANGO_SETTINGS_MODULE=vcp_platform.settings \
    VCP_DATA_DIR=/data
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "/app/deploy/healthcheck.py", "web"]
STOPSIGNAL SIGTERM
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "vcp_platform.wsgi:application"]

# --- full: serve + training, export and backtest statistics ------------------------------------------
FROM serve AS full
COPY --from=build-full /opt/train-layer/ /
