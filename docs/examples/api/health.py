"""Liveness and readiness: no token needed."""

import json
import os

import requests

VCP_URL = os.environ.get("VCP_URL", "http://127.0.0.1:8000")

for path in ("/api/v1/health", "/api/v1/health/ready"):
    response = requests.get(f"{VCP_URL}{path}", timeout=10)
    response.raise_for_status()  # /health/ready answers 503 when a dependency is down
    print(json.dumps(response.json()))
