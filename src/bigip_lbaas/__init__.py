"""bigip-lbaas: load balancing as a service for F5 BIG-IP.

Octavia v2 REST API in front, a shared SQL database in the middle, and any number of redundant
agents that reconcile partitions onto BIG-IP devices behind it.
"""

__version__ = "0.1.0"
