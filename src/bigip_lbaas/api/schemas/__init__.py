"""Pydantic wire types, one module per resource, split by verb (POST, PUT, Response) as Octavia's."""
