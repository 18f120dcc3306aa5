"""Data shipped in the package: the built-in default scenario (``builtin.toml``)."""
