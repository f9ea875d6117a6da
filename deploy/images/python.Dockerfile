# Debian's Python 3.11 laid out like the official python:3.11-slim image: `python`, `python3` and a
# working `python3 -m venv`. The app's Dockerfile takes this as BASE_IMAGE where Docker Hub is out of reach.
ARG DEBIAN_IMAGE=vcp/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && apt-get -y upgrade \
 && apt-get install -y --no-install-recommends python3.11 python3.11-venv ca-certificates \
 && ln -s /usr/bin/python3.11 /usr/local/bin/python \
 && ln -s /usr/bin/python3.11 /usr/local/bin/python3 \
 && rm -rf /var/lib/apt/lists/*
ENV LANG=C.UTF-8
CMD ["python3"]
