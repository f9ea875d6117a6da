"""The latest scored day's ranked list, what the desk reads each morning: the top 5 by rank."""

import os

import requests

VCP_URL = os.environ.get("VCP_URL", "http://127.0.0.1:8000")
session = requests.Session()
session.headers["Authorization"] = f"Token {os.environ['VCP_TOKEN']}"

response = session.get(f"{VCP_URL}/api/v1/predictions", params={"ordering": "rank", "page_size": "5"}, timeout=10)
response.raise_for_status()
page = response.json()
print(f"{page['count']} predictions on the day; next page: {page['next']}")
for row in page["results"]:
    decision = row["will_hit_upper_circuit"]
    print(f"  #{row['rank']:<4} {row['symbol']:<14} p={row['probability']:.4f} will_hit={decision}")
