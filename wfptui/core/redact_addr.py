"""The address half of redaction (``wfptui redact``): order- and prefix-preserving maps.

:class:`AddressMap` maps the IPv4 or IPv6 addresses and masks a recording holds into a
documentation range so that every mask contains exactly the images of the addresses it
contained (core/redact.py's docstring gives the whole scheme); ``v4_int`` and ``v6_parts``
read the spellings of an address the redactor finds in text. Split from core/redact.py
(issue 13 item 1); import through ``wfptui.core.redact``.

Pure: standard library only, no I/O; mypy --strict.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["RedactError", "AddressMap", "v4_int", "v6_parts"]


class RedactError(ValueError):
    """The data cannot be redacted without changing what a filter would decide."""


def _pow2(n: int) -> int:
    p = 1
    while p < n:
        p <<= 1
    return p


@dataclass
class _Node:
    start: int
    size: int  # 1 for a point
    children: list[_Node]
    new_start: int = 0
    new_size: int = 0


class AddressMap:
    """An order- and prefix-preserving map of the addresses and masks of one family."""

    def __init__(self, bits: int, targets: Sequence[tuple[int, int]]) -> None:
        self.bits = bits
        self.targets = targets  # (base, prefix) candidate blocks, smallest first
        self.points: set[int] = set()
        self.masks: set[tuple[int, int]] = set()
        self._map: dict[int, int] = {}
        self._mask_map: dict[tuple[int, int], tuple[int, int]] = {}
        self.built = False

    # -- classification of addresses that stay
    def fixed(self, addr: int) -> bool:
        if self.bits == 32:
            ip4 = ipaddress.IPv4Address(addr)
            return bool(ip4.is_loopback or ip4.is_unspecified or ip4.is_multicast or ip4.is_link_local
                        or addr == 0xFFFFFFFF or ip4.is_reserved or addr >> 24 == 0)
        ip6 = ipaddress.IPv6Address(addr)
        return bool(ip6.is_loopback or ip6.is_unspecified or ip6.is_multicast or ip6.is_link_local
                    or ip6.ipv4_mapped is not None)

    def add_point(self, addr: int) -> None:
        self.points.add(addr)

    def add_mask(self, addr: int, prefix: int) -> None:
        prefix = max(0, min(prefix, self.bits))
        net = addr >> (self.bits - prefix) << (self.bits - prefix) if prefix else 0
        self.masks.add((net, prefix))

    def _mask_fixed(self, net: int, prefix: int) -> bool:
        if prefix == 0:
            return True
        size = 1 << (self.bits - prefix)
        return self.fixed(net) or self.fixed(net + size - 1) or any(
            net <= p < net + size for p in self.points if self.fixed(p))

    def build(self) -> None:
        movable_masks = sorted(((n, 1 << (self.bits - p)) for n, p in self.masks if not self._mask_fixed(n, p)),
                               key=lambda m: (m[0], -m[1]))
        movable_points = sorted(p for p in self.points if not self.fixed(p))
        items = sorted([*(_Node(s, z, []) for s, z in movable_masks), *(_Node(p, 1, []) for p in movable_points)],
                       key=lambda n: (n.start, -n.size))
        root = _Node(0, 1 << self.bits, [])
        stack = [root]
        for node in items:
            while not (stack[-1].start <= node.start and node.start + node.size <= stack[-1].start + stack[-1].size):
                stack.pop()
            parent = stack[-1]
            if node.size == 1 and parent.children and parent.children[-1].size == 1 \
                    and parent.children[-1].start == node.start:
                continue
            parent.children.append(node)
            if node.size > 1:
                stack.append(node)
        need = self._measure(root)
        for base, prefix in self.targets:
            if need <= 1 << (self.bits - prefix):
                self._place(root, base)
                break
        else:
            raise RedactError(f"too many IPv{4 if self.bits == 32 else 6} addresses to redact ({need} slots)")
        self.built = True

    def _measure(self, node: _Node) -> int:
        cursor = 1  # slot 0 (the network address) is left free
        for child in node.children:
            if child.size == 1:
                child.new_size = 1
                cursor += 1
            else:
                size = self._measure(child)
                cursor = (cursor + size - 1) // size * size
                cursor += size
        node.new_size = max(4, _pow2(cursor + 1))  # and the last slot (broadcast) too
        return node.new_size

    def _place(self, node: _Node, base: int) -> None:
        node.new_start = base
        cursor = 1
        for child in node.children:
            if child.size == 1:
                self._map[child.start] = base + cursor
                cursor += 1
            else:
                size = child.new_size
                cursor = (cursor + size - 1) // size * size
                self._place(child, base + cursor)
                prefix = self.bits - (size.bit_length() - 1)
                orig_prefix = self.bits - (child.size.bit_length() - 1)
                self._mask_map[(child.start, orig_prefix)] = (base + cursor, prefix)
                cursor += size

    def addr(self, addr: int) -> int:
        if addr in self._map:
            return self._map[addr]
        if self.fixed(addr):
            return addr
        raise RedactError(f"address {addr} was not seen before redaction")

    def mask(self, addr: int, prefix: int) -> tuple[int, int]:
        prefix = max(0, min(prefix, self.bits))
        net = addr >> (self.bits - prefix) << (self.bits - prefix) if prefix else 0
        if prefix == self.bits:  # a host mask (/32, /128) was laid out as a point
            return self.addr(net), prefix
        got = self._mask_map.get((net, prefix))
        return got if got is not None else (net, prefix)

    def check(self) -> None:
        """Every mask contains exactly the images of the addresses it contained."""
        for net, prefix in self.masks:
            nnet, nprefix = self.mask(net, prefix)
            for p in self.points:
                before = prefix == 0 or (p ^ net) >> (self.bits - prefix) == 0
                q = self.addr(p)
                after = nprefix == 0 or (q ^ nnet) >> (self.bits - nprefix) == 0
                if before != after:
                    fam = 4 if self.bits == 32 else 6
                    raise RedactError(f"cannot redact IPv{fam} addresses and keep the meaning of the mask "
                                      f"{_fmt(net, self.bits)}/{prefix}")


def v6_parts(text: str, prefix: str | None) -> tuple[ipaddress.IPv6Address, str] | None:
    """An IPv6 candidate as (address, ":port" or ""), or None when it is not an address."""
    try:
        return ipaddress.IPv6Address(text), ""
    except ValueError:
        pass
    addr, sep, port = text.rpartition(":")
    if prefix is None and sep and port.isdigit() and addr.count(":") >= 2:
        try:
            return ipaddress.IPv6Address(addr), ":" + port
        except ValueError:
            return None
    return None


def v4_int(text: str) -> int | None:
    """A dotted IPv4 address in any spelling of its four numbers (leading zeros too)."""
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) <= 255 for p in parts):
        return None
    return int(ipaddress.IPv4Address(".".join(str(int(p)) for p in parts)))


def _fmt(addr: int, bits: int) -> str:
    return str(ipaddress.IPv4Address(addr) if bits == 32 else ipaddress.IPv6Address(addr))
