"""Every threshold of the server's anomaly rules in one place, with its unit and reason."""

from __future__ import annotations

#: A kit that sent nothing (no identification, no heartbeat) for this long during opening hours is silent. Kits
#: heartbeat every 10 s, so 15 min is many missed beats, not a short network hiccup.
SILENT_AFTER_S = 15 * 60
#: Fewer seconds than this between two identifications at one kit is faster than a person can be identified (card,
#: finger, slip: about a minute; 60 voters per hour per kit in 2025 reporting). 15 s leaves room for fast operators.
MIN_SECONDS_PER_VOTER = 15.0
#: How many too-fast intervals at one kit before it is flagged (one can be a double tap on a real kit).
FAST_INTERVALS_TO_FLAG = 3
#: A station is flagged when its manual-fallback share exceeds this, once it has identified enough voters for the
#: share to mean something. Kenya 2017 counties ranged 12% to 43% non-biometric.
MANUAL_SHARE_TO_FLAG = 0.30
MANUAL_MIN_IDENTIFIED = 20
#: Supervisor overrides of "already voted" at one station before it is flagged.
OVERRIDES_TO_FLAG = 3
#: A station's turnout is far from its peers (same oblast) when its robust z-score (median / 1.4826 * MAD) exceeds
#: this and the gap is at least PEER_MIN_GAP_PERCENT points; needs PEER_MIN_COUNT stations in the oblast.
PEER_Z_TO_FLAG = 4.0
PEER_MIN_GAP_PERCENT = 10.0
PEER_MIN_COUNT = 5
#: Most anomalies of one kind listed at once (the feed is for people; the CSV export has all).
MAX_PER_KIND = 50
