"""Several stocks in one call: each item succeeds or fails on its own (NOSUCH fails, the others do not)."""

import os

import requests

VCP_URL = os.environ.get("VCP_URL", "http://127.0.0.1:8000")
session = requests.Session()
session.headers["Authorization"] = f"Token {os.environ['VCP_TOKEN']}"

items = [{"symbol": "ARVIIND"}, {"symbol": "ANRIPOWER", "exchange": "NSE"}, {"symbol": "NOSUCH"}]
response = session.post(f"{VCP_URL}/api/v1/batch_predict", json={"items": items}, timeout=30)
response.raise_for_status()
batch = response.json()
print(f"{batch['succeeded']} of {batch['count']} succeeded")
for result in batch["results"]:
    if "prediction" in result:
        print(f"  {result['symbol']}: p={result['prediction']['probability']:.4f}")
    else:
        print(f"  {result['symbol']}: {result['error']['code']} ({result['error']['message']})")
