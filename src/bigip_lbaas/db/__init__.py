"""The shared SQL database: models, sessions, migrations, leases and the queries the processes share.

Must not import `api/` (the wire format) or `device/`.
"""
