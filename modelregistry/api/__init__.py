"""The registry's read API: model versions, mounted on the central router (vcp_platform/api.py)."""
