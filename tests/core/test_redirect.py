"""Connection and bind redirection (issue 15; core.redirect; docs/decisions-engine.md
"Connection and bind redirection"): a callout rule at ALE_CONNECT_REDIRECT rewrites the remote
end (the later layers and packets see it, ALE_AUTH_CONNECT with IS_CONNECTION_REDIRECTED); a
local proxy's outbound connection carries the redirect records (IS_PROXY_CONNECTION) and is not
redirected again; one at ALE_BIND_REDIRECT rewrites the local end of every connection of the
socket."""

from __future__ import annotations

from pathlib import Path

from wfptui.core.engine import run_scenario
from wfptui.core.explain import explain_text
from wfptui.core.trace import ClassifyRecord, StackRecord
from wfptui.io.scenario_file import load_scenario

ROOT = Path(__file__).resolve().parents[2]


def ale_rows(scenario: str, host: str = "laptop") -> list[tuple[object, ...]]:
    res = run_scenario(load_scenario(ROOT / "scenarios" / scenario))
    assert res.ok
    out: list[tuple[object, ...]] = []
    for r in res.records:
        if r.host != host:
            continue
        if isinstance(r, ClassifyRecord) and r.layer.startswith("ALE_"):
            f = r.fields
            out.append((r.layer, r.action, r.filter, f.get("IP_LOCAL_ADDRESS"), f.get("IP_REMOTE_ADDRESS"),
                        f.get("IP_REMOTE_PORT"), f.get("FLAGS")))
        elif isinstance(r, StackRecord) and r.event in ("connect-redirected", "bind-redirected", "connect-failed"):
            out.append((r.event, r.detail))
    return out


LOOPBACK = 0x1 | 0x800000  # IS_LOOPBACK | IS_NON_APPCONTAINER_LOOPBACK (Windows 8+)


def test_connect_redirected_to_a_local_proxy_and_the_proxy_not_again() -> None:
    rows = ale_rows("redirect-proxy.toml")
    browser = rows[rows.index(("ALE_BIND_REDIRECT_V4", "none", None, None, None, None, 8)):]
    assert browser[:5] == [
        ("ALE_BIND_REDIRECT_V4", "none", None, None, None, None, 8),
        ("ALE_RESOURCE_ASSIGNMENT_V4", "none", None, None, None, None, 8),
        # the app's destination, rewritten by the callout
        ("ALE_CONNECT_REDIRECT_V4", "permit", "redirect-https", "192.168.1.10", "203.0.113.7", 443, 0),
        ("connect-redirected", "203.0.113.7:443 -> 127.0.0.1:8080 by callout 'https-proxy' rule 1 "
                               "(FwpsApplyModifiedLayerData0); the redirect record keeps the original destination"),
        # ALE_AUTH_CONNECT sees the new tuple, with IS_CONNECTION_REDIRECTED (0x100000); loopback now
        ("ALE_AUTH_CONNECT_V4", "none", None, "127.0.0.1", "127.0.0.1", 8080, 0x100000 | LOOPBACK),
    ]
    proxy = rows[rows.index(("ALE_BIND_REDIRECT_V4", "none", None, None, None, None, 8), 5):]
    assert proxy[:4] == [
        ("ALE_BIND_REDIRECT_V4", "none", None, None, None, None, 8),
        ("ALE_RESOURCE_ASSIGNMENT_V4", "none", None, None, None, None, 8),
        # the proxy's upstream connection: the original destination, IS_PROXY_CONNECTION (0x200000)
        ("ALE_CONNECT_REDIRECT_V4", "permit", "redirect-https", "192.168.1.10", "203.0.113.7", 443, 0x200000),
        ("ALE_AUTH_CONNECT_V4", "none", None, "192.168.1.10", "203.0.113.7", 443, 0x200000),
    ]
    assert ("ALE_FLOW_ESTABLISHED_V4", "none", None, "192.168.1.10", "203.0.113.7", 443, 0x200000) in proxy
    assert not any(r[0] == "connect-redirected" for r in proxy)


def test_the_proxy_reaches_the_server_and_the_browser_the_proxy() -> None:
    res = run_scenario(load_scenario(ROOT / "scenarios" / "redirect-proxy.toml"))
    delivered = [(r.host, r.flow) for r in res.records if isinstance(r, StackRecord) and r.event == "data-delivered"]
    accepts = [(r.host, r.fields["IP_LOCAL_PORT"], r.fields["IP_REMOTE_ADDRESS"]) for r in res.records
               if isinstance(r, ClassifyRecord) and r.layer == "ALE_AUTH_RECV_ACCEPT_V4"]
    assert accepts == [("laptop", 8080, "127.0.0.1"), ("public", 443, "192.168.1.10")]
    assert [h for h, _ in delivered] == ["laptop", "public"]


def test_explain_names_the_redirect_and_the_loop_prevention() -> None:
    res = run_scenario(load_scenario(ROOT / "scenarios" / "redirect-proxy.toml"))
    texts = [explain_text(res.results[r.seq], {}) for r in res.records
             if isinstance(r, ClassifyRecord) and r.layer == "ALE_CONNECT_REDIRECT_V4"]
    assert ("=> permit (callout 'https-proxy' rule 1 (IP_REMOTE_PORT = 443 and redirect to 127.0.0.1:8080): "
            "redirect remote -> 127.0.0.1:8080 (FWPS_CONNECT_REQUEST0, FwpsApplyModifiedLayerData0); permit, soft)"
            ) in texts[0]
    assert ("the connection carries redirect records (IS_PROXY_CONNECTION, FwpsQueryConnectionRedirectState0): "
            "not redirected again; permit, soft") in texts[1]


def test_bind_redirected_into_the_tunnel() -> None:
    rows = ale_rows("redirect-bind.toml")
    assert rows[:6] == [
        ("ALE_BIND_REDIRECT_V4", "permit", "split-bind", None, None, None, 8),
        ("bind-redirected", "*:49152 -> 10.8.0.2:49152 by callout 'split-tunnel' rule 1 (FWPS_BIND_REQUEST0, "
                            "FwpsApplyModifiedLayerData0)"),
        # RESOURCE_ASSIGNMENT and the connection see the new local address
        ("ALE_RESOURCE_ASSIGNMENT_V4", "none", None, "10.8.0.2", None, None, 8),
        ("ALE_CONNECT_REDIRECT_V4", "none", None, "10.8.0.2", "10.1.0.5", 443, 0),
        ("ALE_AUTH_CONNECT_V4", "none", None, "10.8.0.2", "10.1.0.5", 443, 0),
        ("ALE_FLOW_ESTABLISHED_V4", "none", None, "10.8.0.2", "10.1.0.5", 443, 0),
    ]
    # the browser is not redirected: its connection from 192.168.1.10 is blocked
    assert ("ALE_AUTH_CONNECT_V4", "block", "tunnel-only", "192.168.1.10", "10.1.0.5", 443, 0) in rows
    server = ale_rows("redirect-bind.toml", "intranet")
    assert ("ALE_AUTH_RECV_ACCEPT_V4", "none", None, "10.1.0.5", "10.8.0.2", 49152, 0) in server


UDP = """\
name = "udp redirect"
[[host]]
name = "laptop"
address = ["192.168.1.10"]
app = [ { name = "dns", path = 'C:\\\\dns.exe' } ]
[host.policy]
[[host.policy.callout]]
key = "dns-redirect"
default = "continue"
[[host.policy.callout.rule]]
condition = [{ field = "IP_REMOTE_PORT", value = 53 }]
action = "redirect"
to = "10.0.0.53:5353"
[[host.policy.filter]]
key = "dns"
layer = "ALE_CONNECT_REDIRECT_V4"
action = "callout_terminating"
callout = "dns-redirect"
[[host]]
name = "resolver"
address = ["10.0.0.53"]
app = [ { name = "srv", path = 'C:\\\\srv.exe' } ]
[[host]]
name = "isp"
address = ["8.8.8.8"]
app = [ { name = "srv", path = 'C:\\\\srv.exe' } ]
[[step]]
host = "resolver"
do = "bind"
proto = "udp"
app = "srv"
port = 5353
[[step]]
host = "laptop"
do = "connect"
proto = "udp"
app = "dns"
to = "isp:53"
socket = "q"
[[step]]
host = "laptop"
do = "send"
socket = "q"
bytes = 40
[[step]]
host = "laptop"
do = "send"
socket = "q"
bytes = 40
"""


def test_udp_first_send_redirected_and_the_flow_keeps_the_new_remote(tmp_path: Path) -> None:
    path = tmp_path / "u.toml"
    path.write_text(UDP)
    res = run_scenario(load_scenario(path))
    events = [(r.host, r.event) for r in res.records if isinstance(r, StackRecord)
              and r.event in ("datagram-redirected", "datagram-delivered", "port-unreachable")]
    assert events == [("laptop", "datagram-redirected"), ("resolver", "datagram-delivered"),
                      ("resolver", "datagram-delivered")]
    auth = [r for r in res.records if isinstance(r, ClassifyRecord) and r.layer == "ALE_AUTH_CONNECT_V4"]
    assert [(r.fields["IP_REMOTE_ADDRESS"], r.fields["IP_REMOTE_PORT"], r.fields["FLAGS"]) for r in auth] == [
        ("10.0.0.53", 5353, 0x100000)]


def test_a_bind_redirected_to_an_address_the_host_lacks_fails(tmp_path: Path) -> None:
    text = (ROOT / "scenarios" / "redirect-bind.toml").read_text().replace(
        'policy = "policies/split-tunnel.toml"', 'policy = "split.toml"')
    (tmp_path / "split.toml").write_text((ROOT / "scenarios" / "policies" / "split-tunnel.toml").read_text()
                                         .replace('local = "10.8.0.2"', 'local = "10.9.9.9"'))
    (tmp_path / "s.toml").write_text(text)
    res = run_scenario(load_scenario(tmp_path / "s.toml"))
    events = [(r.event, r.detail) for r in res.records if isinstance(r, StackRecord) and r.host == "laptop"]
    assert events == [("bind-failed", "callout 'split-tunnel' redirected the bind to an address the host does "
                                      "not have (WSAEADDRNOTAVAIL)"),  # corp's bind: one record, no connect
                      ("connect-failed", "blocked at ALE_AUTH_CONNECT (WSAEACCES)")]  # the browser, as before

    assert not any(isinstance(r, ClassifyRecord) and r.host == "laptop" and r.layer == "ALE_RESOURCE_ASSIGNMENT_V4"
                   and r.fields.get("IP_LOCAL_ADDRESS") == "10.9.9.9" for r in res.records)
