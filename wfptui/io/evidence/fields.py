"""Field readers shared by the net event and audit converters (``io.evidence``).

Every reader takes the :class:`~wfptui.io.netsh_xml.XmlNode` the value came from, so a
value that cannot be read raises :class:`FieldError` naming its line, column and field;
``io.evidence`` turns that into an :class:`~wfptui.io.errors.InputError` (exit 2).
"""

from __future__ import annotations

import calendar
import re
import socket

from wfptui.core.values import normalize_app_id
from wfptui.io.netsh_xml import XmlNode


class FieldError(Exception):
    """A field of an event that cannot be read: where, which field, why."""

    def __init__(self, node: XmlNode, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.node = node
        self.field = field
        self.message = message


_TIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s*(Z|[+-]\d{2}:?\d{2})?$"
)


_LAST_SECS: dict[tuple[int, int, int, int, int, int], int] = {}


def parse_time(node: XmlNode, field: str, text: str) -> tuple[str, int]:
    """ISO-8601 text → (UTC text at the same precision, nanoseconds since the epoch).

    A time without a zone is read as UTC (netsh and the event log both write ``Z``)."""
    ts = text.strip()
    # The common shape, seen before to the second (captures move forward one second at a
    # time): ``YYYY-MM-DDTHH:MM:SS[.fraction]Z``. Anything else takes the full path below.
    hit = _SECOND.get(ts[:19]) if len(ts) >= 20 and ts[-1] == "Z" else None
    if hit is not None:
        rest = ts[19:-1]
        if not rest:
            return hit[1] + "Z", hit[0] * 1_000_000_000
        frac = rest[1:]
        if rest[0] == "." and 0 < len(frac) <= 9 and frac.isdecimal() and frac.isascii():
            return f"{hit[1]}.{frac}Z", hit[0] * 1_000_000_000 + int(frac.ljust(9, "0"))
    m = _TIME_RE.match(ts)
    if m is None:
        raise FieldError(node, field, f"{text.strip()!r} is not an ISO-8601 time")
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    frac = m.group(7) or ""
    zone = m.group(8) or "Z"
    if not (1 <= mo <= 12 and 1 <= d <= 31 and h <= 23 and mi <= 59 and s <= 60 and y >= 1601):
        raise FieldError(node, field, f"{text.strip()!r} is not a valid time")
    key = (y, mo, d, h, mi, s)
    secs_or_none = _LAST_SECS.get(key)
    if secs_or_none is None:
        try:
            secs_or_none = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
        except (ValueError, OverflowError) as e:
            raise FieldError(node, field, f"{text.strip()!r}: {e}") from None
        if _civil(secs_or_none // 86400) != (y, mo, d):  # e.g. February 30
            raise FieldError(node, field, f"{text.strip()!r} is not a valid date")
        if len(_LAST_SECS) > 1024:  # captures move forward: a small memo is enough
            _LAST_SECS.clear()
        _LAST_SECS[key] = secs_or_none
    secs = secs_or_none
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        z = zone[1:].replace(":", "")
        secs -= sign * (int(z[:2]) * 3600 + int(z[2:]) * 60)
    ns = secs * 1_000_000_000 + (int(frac.ljust(9, "0")) if frac else 0)
    t = secs
    days, rem = divmod(t, 86400)
    yy, mm, dd = _civil(days)
    out = f"{yy:04d}-{mm:02d}-{dd:02d}T{rem // 3600:02d}:{rem % 3600 // 60:02d}:{rem % 60:02d}"
    if m.group(8) == "Z" and ts[10] == "T" and ts[:19].isascii():
        if len(_SECOND) > 1024:
            _SECOND.clear()
        _SECOND[ts[:19]] = (secs, out)
    if frac:
        out += "." + frac
    return out + "Z", ns


#: "YYYY-MM-DDTHH:MM:SS" (a UTC time already read) -> (seconds since the epoch, its UTC text).
_SECOND: dict[str, tuple[int, str]] = {}


def _civil(days: int) -> tuple[int, int, int]:
    """Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant)."""
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + 1 if m <= 2 else y), m, d


def parse_uint(node: XmlNode, field: str, text: str, bits: int = 64) -> int:
    """A decimal (or 0x hex) unsigned integer of at most ``bits`` bits."""
    t = text.strip()
    if t.isdigit() and t.isascii():  # the common case, read as int(t, 10) would
        v = int(t)
    else:
        try:
            v = int(t, 16) if t.lower().startswith("0x") else int(t, 10)
        except ValueError:
            raise FieldError(node, field, f"{t!r} is not an integer") from None
    if not 0 <= v < (1 << bits):
        raise FieldError(node, field, f"{t} is out of range for a {bits}-bit unsigned value")
    return v


def parse_bool(node: XmlNode, field: str, text: str) -> bool:
    t = text.strip().lower()
    if t in ("true", "1"):
        return True
    if t in ("false", "0"):
        return False
    raise FieldError(node, field, f"{text.strip()!r} is not true/false")


def parse_addr(node: XmlNode, field: str, text: str, version: int | None) -> tuple[int, int]:
    """An address as Windows writes it → (version, integer). IPv4 may be dotted or a
    uint32; IPv6 is the usual text form."""
    t = text.strip()
    if version != 6 and t.isdigit():
        return 4, parse_uint(node, field, t, 32)
    bare = t.split("%", 1)[0]
    # inet_pton is strict (dotted quad; RFC 4291 text) and much faster than ipaddress.
    try:
        ver, n = 4, int.from_bytes(socket.inet_pton(socket.AF_INET, bare), "big")
    except OSError:
        try:
            ver, n = 6, int.from_bytes(socket.inet_pton(socket.AF_INET6, bare), "big")
        except (OSError, ValueError):
            raise FieldError(node, field, f"{t!r} is not an IP address") from None
    except ValueError:  # embedded NUL
        raise FieldError(node, field, f"{t!r} is not an IP address") from None
    if version is not None and ver != version:
        raise FieldError(node, field, f"{t!r} is not an IPv{version} address")
    return ver, n


def app_id(node: XmlNode, field: str, text: str) -> str:
    """An application path → the id WFP compares (``core.values.normalize_app_id``),
    ``system`` for the kernel (spec §9)."""
    try:
        v = normalize_app_id(text)
    except ValueError as e:
        raise FieldError(node, field, f"application {text.strip()!r}: {e}") from None
    return "system" if v.lower() == "system" else v


_SID_RE = re.compile(r"^S-1-\d+(?:-\d+)*$", re.IGNORECASE)


def parse_sid(node: XmlNode, field: str, text: str) -> str:
    t = text.strip()
    if not _SID_RE.match(t):
        raise FieldError(node, field, f"{t!r} is not a SID")
    return "S" + t[1:]
