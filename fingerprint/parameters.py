"""Every tunable number of the fingerprint engine, with its unit and the reason for its value.

Lengths are pixels at 500 dpi (the engine's working resolution) unless the name says otherwise; angles are radians.
MCC values follow Cappelli, Ferrara, Maltoni, "Minutia Cylinder-Code: a new representation and matching technique
for fingerprint recognition", IEEE TPAMI 32(12), 2010, Table 1 (marked [MCC]), and the LSS-R relaxation of the same
paper, §4.3 (marked [LSS-R]).
"""

from __future__ import annotations

import math

# --- resolution -------------------------------------------------------------------------------------------------
#: The engine resamples every image to this resolution before extraction (dots per inch).
WORKING_DPI = 500
#: Accepted input resolutions (dpi): the scanners a kit may meet, from low-cost capacitive to FBI-grade optical.
MIN_INPUT_DPI = 250
MAX_INPUT_DPI = 1000

# --- MCC cylinders [MCC] ----------------------------------------------------------------------------------------
#: Cylinder radius R (px): about 7 ridge periods, enough neighbours for a distinctive code, small enough to survive
#: skin distortion.
MCC_RADIUS_PX = 70.0
#: Cells along the cylinder's diameter (N_S) and along the direction axis (N_D).
MCC_SPATIAL_CELLS = 16
MCC_DIRECTION_CELLS = 6
#: Gaussian spread of a neighbour's spatial contribution, σ_S (px), and of its direction contribution, σ_D (rad).
MCC_SIGMA_SPATIAL_PX = 28.0 / 3.0
MCC_SIGMA_DIRECTION_RAD = 2.0 * math.pi / 9.0
#: Sigmoid Ψ that squashes a cell's summed contribution: centre μ_Ψ and steepness τ_Ψ (dimensionless).
MCC_PSI_MU = 0.01
MCC_PSI_TAU = 400.0
#: Cells farther than this from the convex hull of the minutiae are invalid, Ω (px): the hull stands for the
#: fingerprint's foreground, which a template does not store.
MCC_HULL_MARGIN_PX = 50.0
#: A cylinder counts only if at least this fraction of its in-radius cells is valid (min_VC) and at least this many
#: other minutiae lie within R + 3σ_S (min_M).
MCC_MIN_VALID_CELLS_FRACTION = 0.75
MCC_MIN_NEIGHBOURS = 2
#: Two cylinders are comparable only if they share at least this fraction of valid in-radius cells (min_ME) and the
#: minutiae directions differ by at most δ_θ (rad).
MCC_MIN_MATCHABLE_FRACTION = 0.60
MCC_MAX_DIRECTION_DIFF_RAD = math.pi / 2.0

# --- LSS-R global score [LSS-R] ---------------------------------------------------------------------------------
#: The number of best local pairs averaged into the score, n_P = min_NP + round(Z(min(n_A, n_B); μ_P, τ_P) ·
#: (max_NP - min_NP)): few minutiae give few reliable pairs.
LSS_MIN_PAIRS = 4
LSS_MAX_PAIRS = 12
LSS_PAIRS_MU = 20.0
LSS_PAIRS_TAU = 2.0 / 5.0
#: Relaxation: iterations n_rel and the weight w_R of a pair's own previous similarity.
RELAX_ITERATIONS = 5
RELAX_WEIGHT = 0.5
#: Compatibility ρ of two pairs: sigmoids of (1) the difference of the two inter-minutia distances (px), (2) the
#: difference of the two direction differences (rad), (3) the difference of the two radial angles (rad).
RELAX_DISTANCE_MU_PX = 5.0
RELAX_DISTANCE_TAU = -8.0 / 5.0
RELAX_DIRECTION_MU_RAD = math.pi / 12.0
RELAX_DIRECTION_TAU = -30.0
RELAX_RADIAL_MU_RAD = math.pi / 12.0
RELAX_RADIAL_TAU = -30.0
