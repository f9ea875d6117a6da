"""Alertmanager's webhook receiver for docker-compose: logs each notification as one JSON line.

``POST /alerts`` and ``POST /heartbeat`` take Alertmanager's webhook payload (version 4); ``GET /received``
returns the last notifications per path (what scripts/compose_smoke.sh checks); ``GET /healthz`` is
the container's health check. Standard library only. In production Alertmanager posts to your own relay
instead (deploy/alertmanager/alertmanager.yml).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

KEEP = 50
MAX_BODY = 1 << 20
received: dict[str, deque[dict[str, Any]]] = {"/alerts": deque(maxlen=KEEP), "/heartbeat": deque(maxlen=KEEP)}


class Handler(BaseHTTPRequestHandler):
    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if self.path not in received or length > MAX_BODY:
            self._reply(404 if self.path not in received else 413, {"error": "rejected"})
            return
        try:
            payload = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            self._reply(400, {"error": "not JSON"})
            return
        alerts = [
            {"name": a.get("labels", {}).get("alertname"), "status": a.get("status")} for a in payload.get("alerts", [])
        ]
        entry = {"at": time.time(), "path": self.path, "status": payload.get("status"), "alerts": alerts}
        received[self.path].append(entry)
        print(json.dumps({"event": "alertmanager_notification", **entry}), flush=True)
        self._reply(200, {"ok": True})

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._reply(200, {"status": "ok"})
        elif self.path == "/received":
            self._reply(200, {path: list(entries) for path, entries in received.items()})
        else:
            self._reply(404, {"error": "not found"})

    def log_message(self, format: str, *args: Any) -> None:
        """Notifications are logged as JSON in do_POST; request lines would only add noise."""


def main() -> None:
    port = int(os.environ.get("ALERT_SINK_PORT", "9099"))
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    print(json.dumps({"event": "alert_sink_listening", "port": port}), flush=True, file=sys.stderr)
    server.serve_forever()


if __name__ == "__main__":
    main()
