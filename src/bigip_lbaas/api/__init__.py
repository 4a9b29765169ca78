"""Octavia v2-compatible REST API: writes desired state and pending marks, never talks to a device."""
