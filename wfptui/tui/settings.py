"""The user's TUI settings (the theme), kept in the platform's config folder (issue 16 item 8).

The folder is what platformdirs calls the user config dir, computed with the standard
library: ``%APPDATA%\\wfptui`` on Windows, else ``$XDG_CONFIG_HOME/wfptui`` (default
``~/.config/wfptui``). ``WFPTUI_CONFIG_DIR`` overrides it (tests, portable setups). The
file is ``settings.toml``; a missing or unreadable file means the defaults, and a failed
write is reported by the caller, never fatal.
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path

#: Overrides the config folder.
CONFIG_ENV = "WFPTUI_CONFIG_DIR"
SETTINGS_FILE = "settings.toml"


def config_dir(environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """The folder wfptui keeps its settings in (module docstring); ``environ`` and
    ``platform`` default to this process's (tests give others)."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    override = environ.get(CONFIG_ENV)
    if override:
        return Path(override)
    if platform == "win32":
        appdata = environ.get("APPDATA")
        base = Path(appdata) if appdata else Path.home() / "AppData" / "Roaming"
    else:
        xdg = environ.get("XDG_CONFIG_HOME")
        base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".config"
    return base / "wfptui"


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


def load_theme() -> str | None:
    """The saved theme's name, or None (no file, unreadable, or no theme in it)."""
    try:
        data = tomllib.loads(settings_path().read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    theme = data.get("theme")
    return theme if isinstance(theme, str) and theme else None


def save_theme(name: str) -> None:
    """Remember ``name`` as the theme (atomically; OSError when the folder cannot be written)."""
    from wfptui.io.atomic import atomic_write_text

    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    atomic_write_text(path, f'# wfptui settings (written by the TUI)\ntheme = "{escaped}"\n')
