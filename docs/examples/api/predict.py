"""One stock's next-day upper-circuit probability, with the 5 largest feature contributions."""

import os

import requests

VCP_URL = os.environ.get("VCP_URL", "http://127.0.0.1:8000")
session = requests.Session()
session.headers["Authorization"] = f"Token {os.environ['VCP_TOKEN']}"

response = session.post(f"{VCP_URL}/api/v1/predict", json={"symbol": "ARVIIND", "explain": True}, timeout=10)
response.raise_for_status()
prediction = response.json()
print(
    f"{prediction['symbol']} as of {prediction['date']}: p={prediction['probability']:.4f} "
    f"(threshold {prediction['threshold']:.4f}) -> will_hit_upper_circuit={prediction['will_hit_upper_circuit']}, "
    f"model {prediction['model']['name']} v{prediction['model']['version']}, served from {prediction['served_from']}"
)
for item in prediction["explanation"]:
    print(f"  {item['feature']:<24} value {item['value']:>10.4f}  contribution {item['contribution']:+.4f}")
