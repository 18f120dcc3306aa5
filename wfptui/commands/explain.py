"""``wfptui explain --policy FILE --layer LAYER FIELD=VALUE... [--format text|json]`` (spec §2).

Classifies one synthetic packet at one layer with the policy and prints the arbitration
step by step, like a packet tracer (``wfptui.core.explain``). Fields not given are
FWP_EMPTY. Values use the policy-file spellings (``core.values``): ``IP_PROTOCOL=tcp``,
``IP_REMOTE_ADDRESS=10.0.0.5``, ``FLAGS=is_loopback|is_reauthorize``,
``ALE_APP_ID='C:\\app.exe'``, ``ALE_USER_ID=S-1-5-21-1-2-3-1001,S-1-5-32-545`` (user, groups).

Exit codes: 0 classified (whatever the decision); 2 bad input — an unknown layer or
field, a bad value, an unreadable or invalid policy — with one message per problem
(``file:line:col: message`` for the policy, ``explain: argument N 'FIELD=VALUE': ...``
for arguments).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wfptui.core.layers import Layer
    from wfptui.core.model import Value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", required=True, metavar="FILE", help="policy file (TOML)")
    parser.add_argument("--layer", required=True, metavar="LAYER",
                        help="layer to classify at, e.g. ALE_AUTH_RECV_ACCEPT_V4")
    parser.add_argument("values", nargs="*", metavar="FIELD=VALUE",
                        help="packet values, e.g. IP_LOCAL_PORT=80 IP_PROTOCOL=tcp (others are FWP_EMPTY)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")


def _error(message: str) -> int:
    print(f"explain: {message}", file=sys.stderr)
    return 2


def parse_values(layer: Layer, items: list[str]) -> dict[str, Value]:
    """FIELD=VALUE arguments → packet values; ValueError with the message to print."""
    from wfptui.core.fields import UnknownNameError
    from wfptui.core.values import field_type, parse_value

    values: dict[str, Value] = {}
    for n, item in enumerate(items, 1):
        where = f"argument {n} {item!r}"
        fld, sep, raw = item.partition("=")
        fld = fld.strip()
        if not sep or not fld:
            raise ValueError(f"{where}: expected FIELD=VALUE")
        try:
            name = field_type(fld, layer)[0]
            if layer.field(name) is None:
                raise ValueError(f"field {name} is not classified at layer {layer.name}")
            if name in values:
                raise ValueError(f"field {name} is given twice")
            value, _dtype = parse_value(name, layer, None, raw.strip())
        except UnknownNameError as exc:
            raise ValueError(f"{where}: {exc}") from None
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        values[name] = value
    return values


def run(args: argparse.Namespace) -> int:
    from wfptui.core.arbitration import UnknownSublayerError, compile_policy
    from wfptui.core.explain import explain_json, explain_text
    from wfptui.core.fields import UnknownNameError
    from wfptui.core.layers import get_layer
    from wfptui.io.errors import InputError
    from wfptui.io.policy_file import load_policy

    try:
        layer = get_layer(args.layer)
    except UnknownNameError as exc:
        return _error(f"--layer: {exc}")
    try:
        values = parse_values(layer, list(args.values))
    except ValueError as exc:
        return _error(str(exc))
    try:
        policy = load_policy(args.policy)
    except InputError as exc:
        for diag in exc.diagnostics:
            print(diag, file=sys.stderr)
        return 2
    except OSError as exc:
        return _error(f"{args.policy}: cannot read the policy: {exc.strerror or exc}")
    try:
        result = compile_policy(policy).classify(layer, values)
    except UnknownSublayerError as exc:  # the loader normally reports this itself
        where = str(exc.filter.loc) if exc.filter.loc else str(args.policy)
        print(f"{where}: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        json.dump(explain_json(result, values), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(explain_text(result, values))
    return 0
