"""The model versions (read-only), then the production one by id."""

import os

import requests

VCP_URL = os.environ.get("VCP_URL", "http://127.0.0.1:8000")
session = requests.Session()
session.headers["Authorization"] = f"Token {os.environ['VCP_TOKEN']}"

response = session.get(f"{VCP_URL}/api/v1/models", timeout=10)
response.raise_for_status()
versions = response.json()["results"]
for version in versions:
    print(f"  id {version['id']}: {version['name']} v{version['version']} {version['algorithm']} {version['status']}")
production = next(v for v in versions if v["status"] == "production")
detail = session.get(f"{VCP_URL}/api/v1/models/{production['id']}", timeout=10)
detail.raise_for_status()
print("production:", {key: detail.json()[key] for key in ("name", "version", "threshold", "train_end")})
