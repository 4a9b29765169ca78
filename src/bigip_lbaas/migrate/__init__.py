"""Migration from the old world: a neutron-lbaas database into the shared database."""
