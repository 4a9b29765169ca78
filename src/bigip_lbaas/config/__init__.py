"""Configuration: option tables in the operator's existing files' names, and how they are loaded."""
