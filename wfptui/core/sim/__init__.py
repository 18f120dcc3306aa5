"""The simulated TCP/IP stacks: hosts, sockets, ALE flows and layer traversal (wfp-model.md §2).

Every socket operation and packet is classified at each WFP layer it crosses, in Windows'
order, by the host's compiled policy. The package:

* ``sequences`` — the layer sequences as data: one row per protocol event, direction and
  (where it differs) Windows version, each citing its Microsoft page / wfp-model.md section;
* ``traverse`` — the one traversal that walks a row: classification (its only caller),
  trace rows, net events and audits, discard twins (§2.7), and the row memo;
* ``clock`` — the virtual clock; ``objects`` — hosts, sockets, packets, constants;
  ``endpoint`` — an endpoint's values projected onto layers (``Ctx``, ``View``, ``Path``);
* ``api`` — the narrow interface protocols are handed; ``tcp``, ``udp``, ``icmp``,
  ``probe``, ``sockets`` — the protocols; ``flows`` — ALE flows and reauthorization (§2.5, §2.6);
* ``network`` — hosts, the wire, the step table.

Decisions where the docs are silent: docs/decisions-engine.md. Speed notes:
benchmarks/README.md, "## replay".
"""

from wfptui.core.sim.clock import Timer, VirtualClock, round_us
from wfptui.core.sim.network import Network, observe_packet_op, resolve_target
from wfptui.core.sim.objects import DEFAULT_APP, PING_APP, SYSTEM_APP, is_loopback_address, user_token
from wfptui.core.sim.sequences import ROWS, Row

__all__ = [
    "DEFAULT_APP", "PING_APP", "ROWS", "SYSTEM_APP", "Network", "Row", "Timer", "VirtualClock",
    "is_loopback_address", "observe_packet_op", "resolve_target", "round_us", "user_token",
]
