#!/usr/bin/env python3
"""Generate a WFP capture in the real netsh schema, for tests and benchmarks (issue 11).

Writes ``netsh wfp show netevents`` XML (``<netEvents><item>…``) or a ``wfpdiag.xml``
(``<wfpdiag>`` with the Windows 11 dump's ``<filters>`` copied in, then the events as
``<netEvent>`` elements) for N connection attempts against the Windows 11 filters in
``tests/data/wfp/filters-win11.xml``. Filter ids come from that dump, so every classify
event's filterId resolves to a filter at the event's layer:

* inbound drops at ALE_AUTH_RECV_ACCEPT_V4/V6 by "Query User" and "WSH Default Inbound
  Block" (TCP and UDP, IPv4 and IPv6), with MS_FWP_DIRECTION_IN;
* outbound allows at ALE_AUTH_CONNECT_V4/V6 by the dump's permit filters there ("Default
  Outbound", "InternetClient Default Rule", …), TCP 443/80 and UDP 53/123;
* a few CAPABILITY_DROP / CAPABILITY_ALLOW and IPSEC_KERNEL_DROP events, which wfptui keeps
  but does not simulate.

Half of the events (rounded up) are distinct connection attempts; the rest repeat one of
the earlier attempts with a later time stamp. The output depends only on ``--seed``,
``--events`` and ``--kind``. About 2.2 KB per event (100,000 events ≈ 220 MB; 135,000 ≈ 300 MB); the file is
written as it is generated. Do not commit large outputs.

Usage::

    python tools/gen_capture.py --events 1000 --out /tmp/netevents.xml
    python tools/gen_capture.py --events 100000 --kind wfpdiag --out /tmp/wfpdiag.xml --seed 7
"""

from __future__ import annotations

import argparse
import ipaddress
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from wfptui.core.layers import get_layer  # noqa: E402
from wfptui.core.model import ActionType, Filter  # noqa: E402
from wfptui.io.netsh_xml import import_netsh  # noqa: E402

DUMP = REPO / "tests" / "data" / "wfp" / "filters-win11.xml"

FLAGS = ("IP_PROTOCOL_SET", "LOCAL_ADDR_SET", "REMOTE_ADDR_SET", "LOCAL_PORT_SET", "REMOTE_PORT_SET",
         "APP_ID_SET", "USER_ID_SET", "IP_VERSION_SET", "PACKAGE_ID_SET")
APPS = (
    "System",
    "\\device\\harddiskvolume3\\windows\\system32\\svchost.exe",
    "\\device\\harddiskvolume3\\program files\\google\\chrome\\application\\chrome.exe",
    "\\device\\harddiskvolume3\\program files (x86)\\microsoft\\edge\\application\\msedge.exe",
    "\\device\\harddiskvolume3\\users\\alice\\appdata\\local\\programs\\tool\\tool.exe",
)
USERS = ("S-1-5-18", "S-1-5-19", "S-1-5-20", "S-1-5-21-1004336348-1177238915-682003330-1001")
APPCONTAINER = "S-1-15-2-4163697451-3176919390-1155390458-2883473650-3020241727-522149888-4067122936"
LOCAL4 = "192.168.1.23"
LOCAL6 = "fd00:1:2:3::23"
START_NS = 1_772_438_400_000_000_000  # 2026-03-02T08:00:00Z


@dataclass(frozen=True)
class Attempt:
    """One connection attempt: everything an event says except its time."""

    kind: str  # "drop" | "allow" | "capability_drop" | "capability_allow" | "ipsec"
    v6: bool
    protocol: int
    local: str
    remote: str
    local_port: int
    remote_port: int
    app: str
    user: str
    package: str
    filt: Filter | None
    layer_id: int | None


def _sublayer_internal(sublayer: str) -> str:
    """Captures name MPSSVC sublayers FWPP_SUBLAYER_INTERNAL_FIREWALL_* (see the UWP doc)."""
    if sublayer.startswith("MPSSVC_"):
        return "FWPP_SUBLAYER_INTERNAL_FIREWALL_" + sublayer.removeprefix("MPSSVC_")
    return sublayer


def _pools(filters: tuple[Filter, ...]) -> dict[str, list[Filter]]:
    pools: dict[str, list[Filter]] = {"drop4": [], "drop6": [], "allow4": [], "allow6": []}
    for f in filters:
        v = "6" if f.layer.endswith("_V6") else "4"
        if f.layer.startswith("ALE_AUTH_RECV_ACCEPT") and f.action == ActionType.FWP_ACTION_BLOCK and f.name in (
            "Query User", "WSH Default Inbound Block"
        ):
            pools["drop" + v].append(f)
        elif f.layer.startswith("ALE_AUTH_CONNECT") and f.action == ActionType.FWP_ACTION_PERMIT and f.filter_id:
            pools["allow" + v].append(f)
    for k, pool in pools.items():
        if not pool:
            raise SystemExit(f"gen_capture: the dump has no filters for {k}")
        pool.sort(key=lambda f: f.filter_id)
    return pools


def _rand_remote(rng: random.Random, v6: bool) -> str:
    if v6:
        return str(ipaddress.IPv6Address((0x2001_0db8 << 96) | rng.getrandbits(64)))
    return f"{rng.choice((10, 52, 104, 142, 172, 203))}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _new_attempt(rng: random.Random, pools: dict[str, list[Filter]]) -> Attempt:
    r = rng.random()
    v6 = rng.random() < 0.3
    local = LOCAL6 if v6 else LOCAL4
    remote = _rand_remote(rng, v6)
    eph = rng.randrange(49152, 65536)
    if r < 0.40:  # inbound drop at RECV_ACCEPT
        f = rng.choice(pools["drop6" if v6 else "drop4"])
        proto = rng.choice((6, 6, 17))
        port = rng.choice((445, 3389, 5985, 8080) if proto == 6 else (137, 5353, 1900))
        app = rng.choice(APPS[:2])
        return Attempt("drop", v6, proto, local, remote, port, eph, app, rng.choice(USERS[:3]), "S-1-0-0",
                       f, get_layer(f.layer).layer_id)
    if r < 0.90:  # outbound allow at CONNECT
        f = rng.choice(pools["allow6" if v6 else "allow4"])
        proto = rng.choice((6, 6, 6, 17))
        port = rng.choice((443, 443, 80) if proto == 6 else (53, 123))
        return Attempt("allow", v6, proto, local, remote, eph, port, rng.choice(APPS[1:]), rng.choice(USERS),
                       "S-1-0-0", f, get_layer(f.layer).layer_id)
    kind = "ipsec" if r >= 0.96 else ("capability_drop" if r < 0.93 else "capability_allow")
    return Attempt(kind, v6, 6, local, remote, eph, 443, APPS[4], USERS[3], APPCONTAINER, None, None)


def _app_xml(app: str) -> str:
    if app == "System":
        return "<appId>\n<data>530079007300740065006d000000</data>\n<asString>S.y.s.t.e.m...</asString>\n</appId>"
    data = (app + "\0").encode("utf-16-le").hex()
    text = "".join(c + "." for c in app) + ".."
    return f"<appId>\n<data>{data}</data>\n<asString>{text}</asString>\n</appId>"


def _event_xml(tag: str, a: Attempt, ns: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac // 1_000_000:03d}Z"
    fam = "V6" if a.v6 else "V4"
    addr = (f"<localAddrV6.byteArray16>{a.local}</localAddrV6.byteArray16>\n"
            f"<remoteAddrV6.byteArray16>{a.remote}</remoteAddrV6.byteArray16>" if a.v6
            else f"<localAddrV4>{a.local}</localAddrV4>\n<remoteAddrV4>{a.remote}</remoteAddrV4>")
    head = (
        f"<{tag}>\n<header>\n<timeStamp>{stamp}</timeStamp>\n<flags numItems=\"{len(FLAGS)}\">"
        + "".join(f"\n<item>FWPM_NET_EVENT_FLAG_{x}</item>" for x in FLAGS)
        + f"\n</flags>\n<ipVersion>FWP_IP_VERSION_{fam}</ipVersion>\n<ipProtocol>{a.protocol}</ipProtocol>\n{addr}\n"
        f"<localPort>{a.local_port}</localPort>\n<remotePort>{a.remote_port}</remotePort>\n<scopeId>0</scopeId>\n"
        f"{_app_xml(a.app)}\n<userId>{a.user}</userId>\n<addressFamily>FWP_AF_INET{'6' if a.v6 else ''}</addressFamily>\n"
        f"<packageSid>{a.package}</packageSid>\n<enterpriseId/>\n<policyFlags>0</policyFlags>\n<effectiveName/>\n</header>\n"
    )
    if a.kind in ("drop", "allow"):
        assert a.filt is not None
        block = a.kind == "drop"
        etype = "CLASSIFY_DROP" if block else "CLASSIFY_ALLOW"
        tb = "classifyDrop" if block else "classifyAllow"
        body = (
            f"<type>FWPM_NET_EVENT_TYPE_{etype}</type>\n<{tb}>\n<filterId>{a.filt.filter_id}</filterId>\n"
            f"<layerId>{a.layer_id}</layerId>\n<reauthReason>0</reauthReason>\n<originalProfile>1</originalProfile>\n"
            "<currentProfile>1</currentProfile>\n"
            + ("<msFwpDirection>MS_FWP_DIRECTION_IN</msFwpDirection>\n<isLoopback>false</isLoopback>\n<vSwitchId/>\n"
               "<vSwitchSourcePort>0</vSwitchSourcePort>\n<vSwitchDestinationPort>0</vSwitchDestinationPort>\n" if block else "")
            + f"</{tb}>\n<internalFields>\n<internalFlags/>\n<remoteAddrBitmap>0000000000000000</remoteAddrBitmap>\n"
            "<capabilities/>\n<fqbnVersion>0</fqbnVersion>\n<fqbnName/>\n<terminatingFiltersInfo numItems=\"1\">\n"
            f"<item>\n<filterId>{a.filt.filter_id}</filterId>\n<subLayer>{_sublayer_internal(a.filt.sublayer)}</subLayer>\n"
            f"<actionType>FWP_ACTION_{'BLOCK' if block else 'PERMIT'}</actionType>\n</item>\n</terminatingFiltersInfo>\n"
            "</internalFields>\n"
        )
    elif a.kind.startswith("capability"):
        etype = a.kind.upper()
        tb = "capabilityDrop" if a.kind == "capability_drop" else "capabilityAllow"
        body = (
            f"<type>FWPM_NET_EVENT_TYPE_{etype}</type>\n<{tb}>\n<networkCapabilityId>"
            "FWPM_APPC_NETWORK_CAPABILITY_INTERNET_CLIENT</networkCapabilityId>\n<filterId>0</filterId>\n"
            f"<isLoopback>false</isLoopback>\n</{tb}>\n"
        )
    else:
        body = ("<type>FWPM_NET_EVENT_TYPE_IPSEC_KERNEL_DROP</type>\n<ipsecDrop>\n<failureStatus>3221225506"
                "</failureStatus>\n<direction>FWP_DIRECTION_INBOUND</direction>\n<spi>0</spi>\n<filterId>0</filterId>\n"
                "<layerId>0</layerId>\n</ipsecDrop>\n")
    return _indent(head + body + f"</{tag}>\n")


def _indent(text: str, base: int = 2) -> str:
    """Indent with tabs by element depth, as netsh does (real captures are that size)."""
    out: list[str] = []
    depth = base
    for line in text.splitlines():
        closing = line.startswith("</")
        if closing:
            depth -= 1
        out.append("\t" * depth + line)
        if not closing and line.startswith("<") and not line.endswith("/>") and "</" not in line:
            depth += 1
    return "\n".join(out) + "\n"


def _filters_section(dump: Path) -> bytes:
    data = dump.read_bytes()
    start = data.index(b"<filters")
    end = data.index(b"</filters>") + len(b"</filters>")
    return data[start:end]


def generate(out: Path, events: int, kind: str = "netevents", seed: int = 0, dump: Path = DUMP) -> None:
    """Write the capture (see the module docstring)."""
    rng = random.Random(seed)
    pools = _pools(import_netsh(dump, progress=False).filters)
    distinct = (events + 1) // 2
    plan = [True] * distinct + [False] * (events - distinct)
    rest = plan[1:]
    rng.shuffle(rest)
    plan = plan[:1] + rest
    seen: list[Attempt] = []
    ns = START_NS
    tag = "netEvent" if kind == "wfpdiag" else "item"
    with open(out, "w", encoding="utf-8", newline="\n") as fh:
        fh.write('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n')
        if kind == "wfpdiag":
            fh.write("<wfpdiag>\n")
            fh.flush()
            fh.buffer.write(_filters_section(dump))
            fh.write(f"\n<netEvents numItems=\"{events}\">\n")
        else:
            fh.write(f"<netEvents numItems=\"{events}\">\n")
        batch: list[str] = []
        for new in plan:
            ns += rng.randrange(1, 500) * 1_000_000
            if new or not seen:
                a = _new_attempt(rng, pools)
                seen.append(a)
            else:
                a = seen[rng.randrange(len(seen))]
            batch.append(_event_xml(tag, a, ns))
            if len(batch) >= 1000:
                fh.write("".join(batch))
                batch.clear()
        fh.write("".join(batch))
        fh.write("</netEvents>\n")
        if kind == "wfpdiag":
            fh.write("</wfpdiag>\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, required=True, help="number of events (N >= 0)")
    ap.add_argument("--out", type=Path, required=True, help="file to write")
    ap.add_argument("--kind", choices=("netevents", "wfpdiag"), default="netevents")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dump", type=Path, default=DUMP, help="`netsh wfp show filters` dump to draw filters from")
    args = ap.parse_args(argv)
    if args.events < 0:
        ap.error("--events must be >= 0")
    generate(args.out, args.events, args.kind, args.seed, args.dump)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
