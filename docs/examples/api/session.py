"""A staff user without a token: log in like the admin page does, then send the CSRF token with every POST."""

import os

import requests

VCP_URL = os.environ.get("VCP_URL", "http://127.0.0.1:8000")
session = requests.Session()

# 1. The login page sets the csrftoken cookie; the login form must echo it back.
session.get(f"{VCP_URL}/admin/login/", timeout=10).raise_for_status()
login = session.post(
    f"{VCP_URL}/admin/login/",
    data={
        "csrfmiddlewaretoken": session.cookies["csrftoken"],
        "username": os.environ["VCP_USER"],
        "password": os.environ["VCP_PASSWORD"],
    },
    headers={"Referer": f"{VCP_URL}/admin/login/"},
    allow_redirects=False,  # a good login answers 302 to the admin index
    timeout=10,
)
if login.status_code != 302 or "sessionid" not in session.cookies:
    raise SystemExit("login failed: check VCP_USER and VCP_PASSWORD")

# 2. Django rotates the CSRF token at login: send the current one as X-CSRFToken.
csrf_token = session.cookies.get("csrftoken") or ""
response = session.post(
    f"{VCP_URL}/api/v1/predict",
    json={"symbol": "ANRIPOWER"},
    headers={"X-CSRFToken": csrf_token, "Referer": f"{VCP_URL}/"},
    timeout=10,
)
response.raise_for_status()
print(response.json())
