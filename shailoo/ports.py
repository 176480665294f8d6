"""Free TCP ports on 127.0.0.1 for the servers the demo, the simulator, the benchmarks and the tests start.

One port is taken from the kernel (bind to port 0). A run of consecutive ports (a CEC server with N ingest fronts
binds P..P+N-1) is looked for below Linux's ephemeral range (32768-60999): inside it, any outgoing connection on the
machine (a benchmark's thousands of kit sockets) may be given P+1 between the check and the server's bind.
"""

from __future__ import annotations

import random
import socket

#: Where runs of consecutive ports are looked for: above the well-known and registered low ports most services use,
#: below Linux's default ephemeral range (net.ipv4.ip_local_port_range 32768-60999).
RUN_RANGE = (20000, 32768)
#: Random bases tried before giving up on a run of consecutive ports.
RUN_TRIES = 500


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port(preferred: int = 0) -> int:
    """``preferred`` when it is free now, else a port the kernel gives out as free."""
    if preferred and _bindable(preferred):
        return preferred
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_ports(count: int, preferred: int = 0) -> int:
    """A port P with P .. P+count-1 all free now (``preferred`` when it is such a P); RuntimeError when none is
    found."""
    if count <= 1:
        return free_port(preferred)
    rng = random.Random()
    low, high = RUN_RANGE
    for base in [preferred] * bool(preferred) + [rng.randrange(low, high - count) for _ in range(RUN_TRIES)]:
        if all(_bindable(port) for port in range(base, base + count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports on 127.0.0.1")
