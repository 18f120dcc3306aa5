"""The ``wfptui`` command line: a thin router over ``wfptui.commands``.

Each command lives in its own module with ``add_arguments(parser)`` and
``run(args) -> int``. Only the chosen command's module is imported, so
``wfptui run`` never pays for Textual. Exit codes (spec §2): 0 success, 1 an
expectation failed or a difference was found, 2 bad input or usage.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from wfptui import __version__

#: command name -> (module under wfptui.commands, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "run a scenario headless and print the trace"),
    "replay": ("replay", "re-drive a recording through the engine (--check: exit 1 on difference)"),
    "diff": ("diff", "semantic diff of two recordings"),
    "explain": ("explain", "classify one synthetic packet at one layer, step by step"),
    "export": ("export", "render a recording as Mermaid, JSON lines or text"),
    "redact": ("redact", "replace addresses, app paths, SIDs and names for sharing"),
    "import": ("import_", "netsh wfp show filters / show state XML -> policy file"),
    "validate": ("validate", "check a scenario, policy or recording"),
    "triage": ("triage", "which filter dropped this? judge a capture / netevents / audit events against a policy"),
    "lint": ("lint", "find filters that can never decide, duplicates, overridden blocks (exit 1 on findings)"),
    "completion": ("completion", "print a shell completion script (bash, zsh, fish, powershell)"),
    "tui": ("tui", "open the TUI on a scenario or recording (the default)"),
}


def _top_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wfptui",
        description="Simulate the Windows Filtering Platform filter engine, layer by layer.",
        epilog="With no command: open the TUI on FILE (a scenario .toml or recording .wfpr), "
        "or on the built-in scenario. Exit codes: 0 ok, 1 expectation failed / difference, 2 bad input.",
    )
    parser.add_argument("--version", action="version", version=f"wfptui {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text)
    return parser


def _command_parser(name: str) -> tuple[argparse.ArgumentParser, object]:
    module_name, help_text = COMMANDS[name]
    module = importlib.import_module(f"wfptui.commands.{module_name}")
    parser = argparse.ArgumentParser(prog=f"wfptui {name}", description=help_text)
    module.add_arguments(parser)
    return parser, module


#: What a TUI FILE argument may end with even when the file does not exist (then the TUI
#: command says so), so that `wfptui new.toml` is not taken for a mistyped command.
_FILE_SUFFIXES = (".toml", ".wfpr", ".xml")


def _unknown_command(word: str) -> bool:
    """Print "unknown command" (with a "did you mean") and return True when ``word`` is not a
    command, not an option, not an existing file and does not look like a file name."""
    if word.startswith("-") or os.path.exists(word) or word.lower().endswith(_FILE_SUFFIXES):
        return False
    import difflib  # only for a mistyped command: off the start-up path

    close = difflib.get_close_matches(word, list(COMMANDS), n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    print(f"wfptui: unknown command '{word}'{hint}; commands: {', '.join(COMMANDS)} "
          "(or a scenario .toml / recording .wfpr to open in the TUI)", file=sys.stderr)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``wfptui`` and ``python -m wfptui``; returns the exit code."""
    from wfptui.io.console import setup_console

    setup_console()  # cp1252/cp437/cp850 consoles and redirects never fail (spec §8)
    args = list(sys.argv[1:] if argv is None else argv)
    options = args[: args.index("--")] if "--" in args else args
    if "--version" in options:  # anywhere on the line: `wfptui run --version`
        print(f"wfptui {__version__}")
        return 0
    if args and args[0] in ("-h", "--help"):
        _top_parser().parse_args(args)  # prints and exits 0
        return 0
    if args and args[0] in COMMANDS:
        name, rest = args[0], args[1:]
    elif args and _unknown_command(args[0]):
        return 2
    else:
        name, rest = "tui", args  # `wfptui [FILE]`
    try:
        parser, module = _command_parser(name)
        parsed = parser.parse_args(rest)
        code = module.run(parsed)  # type: ignore[attr-defined]
    except SystemExit as exc:  # argparse usage errors exit 2 already; keep their code
        return int(exc.code) if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # noqa: BLE001 - last line of defence: no tracebacks for input errors
        from wfptui.io.errors import InputError

        if isinstance(exc, InputError):
            for diag in exc.diagnostics:
                print(diag, file=sys.stderr)
            return 2
        raise
    return int(code)


def entry() -> None:
    """The ``wfptui`` executable and ``python -m wfptui``: :func:`main`, then the process
    ends without its final garbage collection walking what the command built
    (``io.heap.process_ends``)."""
    code = main()
    from wfptui.io.heap import process_ends

    process_ends()
    raise SystemExit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
