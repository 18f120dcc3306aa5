"""wfptui: simulate the Windows Filtering Platform filter engine, layer by layer."""

__version__ = "0.1.0"
