"""Real OpenStack services (Keystone, Barbican, Neutron, Octavia) for tests and benchmarks.

Each service runs from its own virtualenv, installed from PyPI once per machine (`venvs.py`) and
started on loopback by the test session that needs it; nothing here is a hand-written stand-in.
"""
