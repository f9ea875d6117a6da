"""What every app shares: the run record, its status and services, the read-only admin, the
trading-session gate for tasks, and the tracing, logging, metrics and formatting helpers.

``common`` imports no other app of the project: it is the bottom layer (see docs/architecture.md).
"""
