# Debian's Alertmanager with the official image's interface (arguments go to alertmanager).
ARG DEBIAN_IMAGE=vcp/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus-alertmanager wget \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /alertmanager && chown nobody:nogroup /alertmanager
WORKDIR /alertmanager
USER nobody
EXPOSE 9093
ENTRYPOINT ["/usr/bin/prometheus-alertmanager"]
CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]
