"""HTTP routes, one module per resource; each handler is one transaction (see api/lock.py)."""
