"""Screens of the TUI: main, policy editor, diff, help, dialogs."""
