"""The API plumbing every app's endpoints share: one error shape, token auth, throttle, paging, JSON parsing."""
