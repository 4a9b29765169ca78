"""Where network facts come from and where service addresses are booked (`[networking] source`):
the built-in Neutron-shaped registry in the shared database, or a real Neutron."""
