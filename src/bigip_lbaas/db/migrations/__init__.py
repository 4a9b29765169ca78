"""Alembic migrations. `bigip-lbaas db upgrade` runs them; never edit a released revision."""
