"""Widgets of the TUI: host panes, timeline, inspector, policy editor."""
