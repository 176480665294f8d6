"""Synthetic fingerprints in the manner of SFinGe: master fingers from a seed, impressions of them.

>>> master = generate_master(seed=42)                    # a whole finger, deterministic for its seed
>>> impression = generate_impression(master, index=0)    # what a 500 dpi scanner sees; .image is uint8

Pure computation: no file, device or network access.
"""

from simulation.fingerprints.errors import SyntheticFingerprintError
from simulation.fingerprints.impression import Impression, SkinCondition, generate_impression
from simulation.fingerprints.master import MasterFingerprint, generate_master
from simulation.fingerprints.orientation import PatternClass, Singularity

__all__ = [
    "Impression",
    "MasterFingerprint",
    "PatternClass",
    "Singularity",
    "SkinCondition",
    "SyntheticFingerprintError",
    "generate_impression",
    "generate_master",
]
