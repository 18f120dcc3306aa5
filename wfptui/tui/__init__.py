"""The Textual terminal UI: ``WfpApp`` (app.py), its screens, widgets and styles."""
