"""The agent: heartbeats, partition leases, placement, and reconcile of owned partitions.

Reads only committed state from the database; talks to devices only through `device/`.
"""
