"""A policy from either source a user holds: a policy ``.toml`` or a netsh XML dump.

``netsh wfp show filters`` / ``show state`` XML is imported as ``wfptui import`` would; it is
recognised by its first non-blank character ``<``. ``-`` reads standard input. Used by every
command that takes "a policy" (``lint``, ``triage --policy/--what-if``, ``explain --event``,
``import CAPTURE --policy``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wfptui.core.model import Policy


def load_policy_any(path: str) -> Policy:
    """A policy file or a netsh XML dump (sniffed by its first character); InputError on bad input."""
    from wfptui.io.errors import Diagnostic, InputError
    from wfptui.io.netsh_xml import import_netsh, parse_netsh
    from wfptui.io.policy_file import load_policy, parse_policy
    from wfptui.io.stdio import STDIN_NAME, STDIO, open_regular, read_input

    if path == STDIO:
        data = read_input(path, "policy")
        name = STDIN_NAME
    else:
        name = path
        try:
            with open_regular(path, "policy") as fh:  # never blocks on a FIFO
                head = fh.read(512)
        except OSError as exc:
            raise InputError([Diagnostic(path, 0, 0, f"cannot read: {exc.strerror or exc}")]) from None
        if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            return import_netsh(path, progress=False).policy
        return load_policy(path)
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return parse_netsh(data, name).policy
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError([Diagnostic(name, 0, 0, "policy is not UTF-8 text")]) from None
    return parse_policy(text, name)
