"""Kit-to-kit sharing of the voted set inside one station over the local network (ZeroMQ)."""

from station.peers.node import PeerNode
from station.peers.protocol import apply_changes, changes_since

__all__ = ["PeerNode", "apply_changes", "changes_since"]
