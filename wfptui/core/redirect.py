"""Connection and bind redirection (issue 15): a callout rule at ALE_CONNECT_REDIRECT rewrites
a connection's remote address and port, one at ALE_BIND_REDIRECT a socket's local address
(and port). docs/decisions-engine.md "Connection and bind redirection (issue 15)".

Microsoft's pages this follows:

* "Using Bind or Connect Redirection" (learn.microsoft.com/windows-hardware/drivers/network/
  using-bind-or-connect-redirection): Windows 7 and later; "Changes at connect layers affect
  only the flow being connected. Changes at bind layers affect all connections that are using
  that socket"; the callout writes FWPS_CONNECT_REQUEST0 / FWPS_BIND_REQUEST0 and applies it
  (FwpsApplyModifiedLayerData0) and returns FWP_ACTION_PERMIT ("Types of Callouts": "The
  filter action type for this type of callout should be set to FWP_ACTION_PERMIT"); a proxy
  reads the redirect records and context of the accepted socket
  (SIO_QUERY_WFP_CONNECTION_REDIRECT_RECORDS / _CONTEXT: the original destination) and sets the
  records on its own outbound socket (SIO_SET_WFP_CONNECTION_REDIRECT_RECORDS); a callout must
  query FwpsQueryConnectionRedirectState0 "to prevent infinite redirecting" and "If the
  connection is to a local proxy, your callout driver should not attempt to redirect it".
* "Filtering Condition Flags" (.../drivers/network/filtering-condition-flags):
  FWP_CONDITION_FLAG_IS_CONNECTION_REDIRECTED (0x00100000, Windows 7+) "the connection was
  redirected by an ALE_CONNECT_REDIRECT callout function", at ALE_AUTH_CONNECT;
  FWP_CONDITION_FLAG_IS_PROXY_CONNECTION (0x00200000, Windows 8+) "the connection has been
  proxied, and therefore previous redirect records exist", at ALE_AUTH_CONNECT,
  ALE_FLOW_ESTABLISHED and ALE_CONNECT_REDIRECT.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from wfptui.core.model import Policy

__all__ = ["Target", "endpoint_text", "CONNECT", "IS_CONNECTION_REDIRECTED", "IS_PROXY_CONNECTION", "LOCAL", "PROXY_FAMILIES", "REDIRECT",
           "REDIRECT_FAMILIES", "Redirect", "is_proxy_connection"]

#: The rule action.
REDIRECT = "redirect"
#: Redirect kinds: the remote address and port of a connection, the local address of a socket.
CONNECT, LOCAL = "connect", "local"
#: Where each kind is allowed (layer family).
REDIRECT_FAMILIES = {CONNECT: "ALE_CONNECT_REDIRECT", LOCAL: "ALE_BIND_REDIRECT"}
IS_CONNECTION_REDIRECTED = 0x00100000
IS_PROXY_CONNECTION = 0x00200000
#: The families whose FLAGS carry IS_PROXY_CONNECTION (Windows 8+).
PROXY_FAMILIES = frozenset({"ALE_AUTH_CONNECT", "ALE_FLOW_ESTABLISHED", "ALE_CONNECT_REDIRECT"})


class Target(NamedTuple):
    """A redirect rule's target: ``kind`` (CONNECT: ``to``, LOCAL: ``local``), the address
    (``bits`` 32 or 128) and the port (None: unchanged)."""

    kind: str
    addr: int
    bits: int
    port: int | None


class Redirect(NamedTuple):
    """What a redirecting rule wrote: which callout and rule (1-based), the kind, and the new
    address (``bits`` 32 or 128) and port (``None``: unchanged, a bind redirect of the address
    only)."""

    callout: str
    rule: int
    kind: str
    addr: int
    bits: int
    port: int | None


def endpoint_text(addr: int, bits: int, port: int | None) -> str:
    """``10.0.0.1:443``, ``[fd00::1]:443``, or the address alone (``port`` None)."""
    from wfptui.core.values import format_address

    a = format_address(addr, bits)
    if port is None:
        return a
    return f"{a}:{port}" if bits == 32 else f"[{a}]:{port}"


def is_proxy_connection(flags: object) -> bool:
    """Is FWP_CONDITION_FLAG_IS_PROXY_CONNECTION set in a FLAGS value?"""
    return type(flags) is int and bool(flags & IS_PROXY_CONNECTION)


def parse_target(kind: str, text: str) -> Target:
    """``to = "127.0.0.1:8080"`` / ``"[::1]:8080"`` (CONNECT: address and port), ``local =
    "10.8.0.2"`` / ``"10.8.0.2:5000"`` / ``"[fd00::2]"`` (LOCAL: the port is optional, 0 or
    absent = unchanged). ValueError with the reason."""
    from wfptui.core.values import parse_address

    s = text.strip()
    port: int | None = None
    if s.startswith("["):
        addr_text, sep, rest = s[1:].partition("]")
        if not sep:
            raise ValueError(f"{text!r}: an IPv6 address with a port is written [address]:port")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{text!r}: expected :port after ]")
            port_text: str | None = rest[1:]
        else:
            port_text = None
    elif s.count(":") == 1:
        addr_text, _, port_text = s.partition(":")
    else:
        addr_text, port_text = s, None  # an IPv4 address alone, or IPv6 without brackets
    try:
        addr, bits = parse_address(addr_text)
    except ValueError:
        raise ValueError(f"{text!r}: not an IP address") from None
    if port_text is not None:
        if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
            raise ValueError(f"{text!r}: the port must be 0..65535")
        port = int(port_text)
    if addr == 0:
        raise ValueError(f"{text!r}: the new address cannot be unspecified")
    if kind == CONNECT:
        if port is None or port == 0:
            raise ValueError(f"{text!r}: a connect redirect needs the new remote port (address:port)")
    elif port == 0:
        port = None
    return Target(kind, addr, bits, port)


def binds_redirect(policy: Policy) -> bool:
    """Does an enabled filter of ``policy`` use a callout with a bind redirect rule? The
    simulator splits a bind's walk at ALE_BIND_REDIRECT only then."""
    from wfptui.core.model import FilterFlag  # core.model imports this module

    keys = {k for k, c in policy.callouts.items() if any(r.target is not None and r.target.kind == LOCAL
                                                          for r in c.rules)}
    return bool(keys) and any(f.callout in keys and f.action.is_callout and not f.flags & FilterFlag.DISABLED
                              for f in policy.filters)
