"""bigip-lbaas inside a real OpenStack: the `bigip` Octavia provider driver (driver.py, writing
through writes.py) and `bigip-lbaas octavia-bridge` (bridge.py), which reports outcomes back to
Octavia's driver agent. Needs the `octavia` extra (octavia-lib)."""
