"""``python -m wfptui`` runs the command line."""

from wfptui.cli import entry

entry()
