"""Import of the two real Windows 11 dumps (wfp-model.md §5.5, §5.7): every filter imported,
none dropped, nothing unknown left unreported, the policy file validates, and import → TOML
→ load gives the same filters as an *independent* ElementTree reading of the XML."""

from __future__ import annotations

import ipaddress
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from wfptui.core import sddl
from wfptui.core.datatypes import DataType
from wfptui.core.model import AddrMask, Blob, Policy, Range, SecurityDescriptor
from wfptui.io.netsh_xml import ImportResult, import_netsh, policy_toml
from wfptui.io.policy_file import load_policy

DATA = Path(__file__).resolve().parents[1] / "data" / "wfp"  # copies, see its README
FILTERS_XML = DATA / "filters-win11.xml"
STATE_XML = DATA / "wfpstate-win11.xml"



# ----------------------------------------------------------------------------- independent reading


def _et_root(path: Path) -> ET.Element:
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    end = data.find(b"</wfpstate>")
    if end >= 0:
        data = data[: end + len(b"</wfpstate>")]
    return ET.fromstring(data)


def _xml_filters(path: Path) -> list[ET.Element]:
    root = _et_root(path)
    if root.tag == "wfpdiag":
        return root.findall("filters/*")
    return [f for layer in root.findall("layers/*") for f in layer.findall("filters/*")]


def _guid(text: str) -> str:
    return text.strip().strip("{}").lower()


def _scalar(el: ET.Element) -> tuple[str, Any]:
    """(FWP type, value) of a ``<conditionValue>``/``<valueLow>``/``<valueHigh>``, read plainly."""
    t = el.findtext("type") or ""
    v = [c for c in el if c.tag != "type"][0]
    text = (v.text or "").strip()
    if v.tag in ("uint8", "uint16", "uint64"):
        return t, int(text)
    if v.tag == "uint32":
        return t, int(ipaddress.IPv4Address(text)) if "." in text else int(text)
    if v.tag == "byteArray16":
        return t, int(ipaddress.IPv6Address(text))
    if v.tag == "sid":
        return t, text
    if v.tag == "sd":
        return t, text
    if v.tag == "byteBlob":
        return t, v.findtext("asString") or ""  # already the lower-cased NT path, or "System"
    if v.tag == "rangeValue":
        lo, hi = _scalar(v.find("valueLow")), _scalar(v.find("valueHigh"))  # type: ignore[arg-type]
        return t, (lo[1], hi[1])
    raise AssertionError(f"value element {v.tag} not expected in the real dumps")


def _same_value(xml_type: str, xml_value: Any, value: Any, dtype: DataType) -> bool:
    assert dtype.name == xml_type or (xml_type == "FWP_SECURITY_DESCRIPTOR_TYPE" and dtype.name == xml_type), (
        xml_type,
        dtype,
    )
    if isinstance(value, SecurityDescriptor):
        if value.sddl == xml_value:
            return True
        # Over-long SDDL written as the SIDs it grants: the same access check (§4.2).
        want = sddl.parse_sddl(xml_value)
        assert want.dacl is not None and value.dacl is not None
        return {a.sid for a in want.dacl if a.allow and a.mask & 1} == {a.sid for a in value.dacl} and all(
            a.allow for a in want.dacl
        )
    if isinstance(value, Range):
        return bool((value.low, value.high) == xml_value)
    if isinstance(value, AddrMask | Blob):  # pragma: no cover - not in these dumps
        return False
    return bool(value == xml_value)


def _compare(path: Path, policy: Policy) -> None:
    items = _xml_filters(path)
    by_guid = {f.guid: f for f in policy.filters}
    assert len(by_guid) == len(policy.filters) == len(items)
    keys = [f.key for f in policy.filters]
    assert len(set(keys)) == len(keys)
    for it in items:
        guid = _guid(it.findtext("filterKey") or "")
        f = by_guid[guid]
        fid = int(it.findtext("filterId") or 0)
        assert f.filter_id == fid
        assert re.fullmatch(r"[a-z0-9-]+", f.key) and f.key.endswith(f"-{fid}")
        assert f.name == (it.findtext("displayData/name") or "")
        assert f.description == (it.findtext("displayData/description") or "")
        assert "FWPM_LAYER_" + f.layer == it.findtext("layerKey")
        sl = it.findtext("subLayerKey") or ""
        sub = policy.sublayers[f.sublayer]
        assert sub.key == sl.removeprefix("FWPM_SUBLAYER_") or sub.guid == _guid(sl)
        wt = it.find("weight")
        assert wt is not None
        assert f.weight.type.name == wt.findtext("type")
        if f.weight.type != DataType.FWP_EMPTY:
            assert f.weight.value == int([c for c in wt if c.tag != "type"][0].text or "")
        assert f.effective_weight == int(it.findtext("effectiveWeight/uint64") or "-1")
        assert f.action.name == it.findtext("action/type")
        ft = (it.findtext("action/filterType") or "").strip()
        if ft:
            co = policy.callouts[f.callout or ""]
            assert co.key == ft.removeprefix("FWPM_CALLOUT_") or co.guid == _guid(ft)
        else:
            assert f.callout is None
        flags = {x.text.removeprefix("FWPM_FILTER_FLAG_") for x in it.findall("flags/item") if x.text}
        flags.discard("HAS_FILTER_ORIGIN")  # no FilterFlag bit: written as a comment
        from wfptui.core.model import FilterFlag

        assert f.flags == sum(int(FilterFlag[n]) for n in flags)
        conds = it.findall("filterCondition/item")
        assert len(conds) == len(f.conditions)
        for xc, c in zip(conds, f.conditions, strict=True):
            assert "FWPM_CONDITION_" + c.field == xc.findtext("fieldKey")
            assert c.match.name == xc.findtext("matchType")
            cv = xc.find("conditionValue")
            assert cv is not None
            xt, xv = _scalar(cv)
            assert _same_value(xt, xv, c.value, c.dtype), (f.key, c, xv)


# ----------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def filters_import() -> ImportResult:
    return import_netsh(FILTERS_XML, progress=False)


@pytest.fixture(scope="module")
def state_import() -> ImportResult:
    return import_netsh(STATE_XML, progress=False)


# ----------------------------------------------------------------------------- tests


def test_filters_dump_every_filter_imported(filters_import: ImportResult) -> None:
    r = filters_import
    assert r.kind == "filters"
    assert len(_xml_filters(FILTERS_XML)) == 990
    assert r.xml_filters == 990 and len(r.filters) == 990
    assert r.dropped == []
    assert r.warnings == []  # nothing unknown in the dump: no unknown element left unreported


def test_state_dump_every_filter_imported(state_import: ImportResult) -> None:
    r = state_import
    n = len(_xml_filters(STATE_XML))
    assert n == 1050
    assert r.kind == "state" and r.xml_filters == n and len(r.filters) == n
    assert r.dropped == [] and r.warnings == []


def test_state_dump_sublayers_and_callouts(state_import: ImportResult) -> None:
    root = _et_root(STATE_XML)
    pol = state_import.policy
    for it in root.findall("subLayers/*"):
        key = it.findtext("subLayerKey") or ""
        weight = int(it.findtext("weight") or -1)
        subs = [s for s in pol.sublayers.values() if s.key == key.removeprefix("FWPM_SUBLAYER_") or s.guid == _guid(key)]
        assert len(subs) == 1 and subs[0].weight == weight, key
    listed = {
        c.findtext("calloutKey") or "": "FWPM_CALLOUT_FLAG_REGISTERED" in [x.text for x in c.findall("flags/item")]
        for layer in root.findall("layers/*")
        for c in layer.findall("callouts/item")
    }
    for key, registered in listed.items():
        found = [c for c in pol.callouts.values() if c.key == key.removeprefix("FWPM_CALLOUT_") or c.guid == _guid(key)]
        assert len(found) == 1, key
        c = found[0]
        if not registered:
            assert c.returns == "unregistered", key
        elif not c.builtin:
            assert c.returns == "continue" and c.assumed, key
    # The silent-drop callouts of the stealth filters keep their built-in behaviour (§2.4).
    sd = pol.callouts["WFP_TRANSPORT_LAYER_V4_SILENT_DROP"]
    assert sd.builtin and sd.returns == "block" and sd.silent


@pytest.mark.parametrize("which", ["filters", "state"])
def test_import_toml_load_matches_xml(which: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    r: ImportResult = request.getfixturevalue(f"{which}_import")
    path = FILTERS_XML if which == "filters" else STATE_XML
    out = tmp_path / "policy.toml"
    out.write_text(policy_toml(r), encoding="utf-8")
    loaded = load_policy(out)  # validate is clean: raises nothing
    # The in-memory import and the file read back agree exactly ...
    assert loaded.filters == r.policy.filters
    assert loaded.sublayers == r.policy.sublayers
    assert loaded.callouts == r.policy.callouts
    # ... and both agree with an independent reading of the XML.
    _compare(path, loaded)


def test_assumed_callouts_are_commented(filters_import: ImportResult) -> None:
    text = policy_toml(filters_import)
    assert text.splitlines().count("[[callout]]") == 17
    assert text.count("assumed = true") == 17
    assert text.count("# ASSUMED behaviour") == 17
    assert "# ASSUMED weight 0" in text  # sublayers without weights in a filters dump


def test_committed_win11_policy_is_current(filters_import: ImportResult) -> None:
    """scenarios/win11/win11-policy.toml is exactly what `wfptui import` makes of the dump."""
    committed = Path(__file__).resolve().parents[2] / "scenarios" / "win11" / "win11-policy.toml"
    assert committed.read_text(encoding="utf-8") == policy_toml(filters_import)
