"""What the protocol modules (tcp, udp, icmp, probe, sockets, flows) are handed: the narrow
interface of the network they run on (``core.sim.network.Network`` implements it).

A protocol walks layer sequences (``walk``/``cross``, the one traversal), writes stack
records, puts packets on the wire and uses the flow table; it does not reach into the
clock's queue, the trace's storage or another protocol's state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from wfptui.core.layers import Layer
from wfptui.core.pend import Pend
from wfptui.core.redirect import Redirect
from wfptui.core.scenario import AppSpec, Step
from wfptui.core.sim.clock import Timer, VirtualClock
from wfptui.core.sim.endpoint import Ctx, Path
from wfptui.core.sim.objects import Host, Pkt, Sock
from wfptui.core.sim.sequences import Stage
from wfptui.core.trace import TraceRecord

if TYPE_CHECKING:
    from wfptui.core.sim.flows import Flows
    from wfptui.core.sim.probe import Probes


class Stack(Protocol):
    """The network as a protocol module sees it."""

    clock: VirtualClock
    #: The callout pend that made the last blocked walk block (core.pend), or None.
    pended: Pend | None
    #: The redirect a callout applied in the last walk (core.redirect), or None.
    redirected: Redirect | None
    hosts: dict[str, Host]
    owner: dict[tuple[int, int], Host]
    sockets: dict[str, Sock]

    @property
    def flows(self) -> Flows: ...

    @property
    def probes(self) -> Probes: ...

    @property
    def seq(self) -> int: ...

    def record(self, record: TraceRecord) -> None: ...

    def stack(self, host: Host, event: str, detail: str = "", flow: int | None = None, **data: Any) -> None: ...

    def stack_row(self, host: Host, event: str, detail: str = "", flow: int | None = None,
                  **data: Any) -> tuple[Any, ...]: ...

    def sock_named(self, name: str | None) -> Sock | None: ...

    def pend_later(self, host: Host, pend: Pend, fn: Callable[..., None], *args: Any) -> Timer | None: ...

    def walk(self, host: Host, ctx: Ctx, stage: Stage, packet: str | None, op: str | None, direction: str | None,
             dir_int: int | None, flow: int | None, reauth: bool | int = False,
             stack_discard: bool = False, nbytes: int = 0) -> Layer | None: ...

    def cross(self, host: Host, ctx: Ctx, path: Path, stack_discard: bool = False,
              then: tuple[Any, ...] | None = None, nbytes: int = 0) -> Layer | None: ...

    def out_packet(self, host: Host, ctx: Ctx, pkt: Pkt, flow: int | None) -> bool: ...

    def wire(self, host: Host, pkt: Pkt) -> None: ...

    def host_of(self, step: Step) -> Host: ...

    def app(self, host: Host, name: str | None, default: AppSpec = ...) -> AppSpec: ...

    def resolve(self, to: str) -> tuple[int, int, int]: ...

    def name_sock(self, sock: Sock) -> None: ...

    def sock_of(self, step: Step) -> Sock | None: ...


def family(layer: Layer) -> str:
    """``ALE_AUTH_CONNECT_V4`` → ``ALE_AUTH_CONNECT``: how stack records name a layer."""
    return layer.name[:-3]
