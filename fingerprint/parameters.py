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
#: Largest relative departure from 500 dpi (dimensionless) at which an image is extracted on the sensor's own pixel
#: grid and only its minutiae are scaled to 500 dpi (see ``resample.native_grid_scale``). 0.15 covers 435 to 575 dpi
#: sensors. Measured on FVC2002 DB2_B (569 dpi, all pairs): EER 1.53% resampled to 500 dpi, 0.70% on its own grid.
NATIVE_GRID_TOLERANCE = 0.15

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

# --- input and resampling ---------------------------------------------------------------------------------------
#: Smallest image side accepted (px at 500 dpi): below about 3 x 3 mm nothing can be matched.
MIN_IMAGE_SIDE_PX = 64
#: Largest image side accepted (px at 500 dpi): a flat single finger is at most about 4 cm.
MAX_IMAGE_SIDE_PX = 2048

# --- block spectra (short-time Fourier analysis, Chikkerur, Cartwright, Govindaraju, Pattern Recognition 40(1), 2007)
#: Analysis window side (px): about 3.5 ridge periods, enough for a clear spectral peak, short enough that ridges
#: look straight within it.
BLOCK_SIZE_PX = 32
#: Step between windows (px): half a window, so a sine window squared sums to one (perfect overlap-add).
BLOCK_STEP_PX = 16
#: Ridge period range of human fingers at 500 dpi (px): about 0.2 to 0.65 mm (Maltoni et al., Handbook of
#: Fingerprint Recognition, 2nd ed., §3.3: 9 px typical).
MIN_RIDGE_PERIOD_PX = 4.5
MAX_RIDGE_PERIOD_PX = 16.0

# --- segmentation -----------------------------------------------------------------------------------------------
#: A block is foreground when its ridge-band energy is above this fraction of the image's high percentile of that
#: energy, and when the ridge band holds at least this fraction of the block's AC energy (a ridge pattern is
#: narrow-band; dust, noise and the sensor's texture are not: white noise puts about 14% of its energy in the band).
#: Energy goes with the square of the ridge contrast, so 5% keeps ridges of about a fifth of the best contrast in the
#: image: the faint parts of a dry or light touch carry minutiae too.
SEGMENT_ENERGY_FRACTION = 0.05
SEGMENT_ENERGY_PERCENTILE = 90.0
SEGMENT_MIN_BAND_RATIO = 0.35
#: A foreground region is kept if its area is at least this fraction of the largest one (dimensionless): a crease
#: or a dry patch can split a print in two (both halves carry minutiae), dust and sensor texture make small islands.
SEGMENT_MIN_REGION_FRACTION = 0.25
#: Enhancement works only on the foreground windows and this many rings of windows around them (windows): one ring
#: covers every foreground pixel (the pixel mask reaches half a step past a foreground window's centre, and every
#: window within one step overlaps it); a second ring also gives the refinement's envelope (REFINE_SIGMA_PX) its
#: ridges just outside the mask, so the result equals filtering every window.
ENHANCE_MARGIN_WINDOWS = 2
#: Pixel-level refinement after enhancement: foreground where the local energy of the enhanced ridges (Gaussian σ in
#: px, about one ridge period) is at least this fraction of its median over the window mask.
REFINE_SIGMA_PX = 8.0
REFINE_ENERGY_FRACTION = 0.1
#: Image side of a 'dead' image: if its grey levels vary less than this standard deviation (0..255 grey levels),
#: there is nothing to segment.
BLANK_STD_GREY = 4.0

# --- orientation field (Bazen & Gerez, IEEE TPAMI 24(7), 2002, §2) ----------------------------------------------
#: Gaussian σ (px) of the gradient tensor averaging for the pixel field (minutia directions) and the block field
#: (enhancement); the block field is smoothed again over neighbouring blocks (σ in blocks).
ORIENTATION_SIGMA_PX = 6.0
ORIENTATION_BLOCK_SIGMA_BLOCKS = 1.0

# --- enhancement (contextual filtering in the Fourier domain) ---------------------------------------------------
#: Radial band-pass around the local ridge frequency: Gaussian σ as a fraction of that frequency.
ENHANCE_RADIAL_SIGMA_FRACTION = 0.25
#: Angular pass band half-width (rad): narrow where ridges are coherent, wide near cores, deltas and scars.
ENHANCE_MIN_ANGULAR_HALF_WIDTH_RAD = 0.55
ENHANCE_MAX_ANGULAR_HALF_WIDTH_RAD = 1.2
#: Frequency field smoothing over neighbouring blocks (σ in blocks): ridge spacing changes slowly over a finger.
FREQUENCY_SMOOTH_SIGMA_BLOCKS = 1.5

# --- binarisation and thinning ----------------------------------------------------------------------------------
#: Ridge islands and valley holes smaller than this (px²: a pore, a sweat dot or a dust speck, a disc of about 4.5 px
#: or half a ridge period across) are removed before thinning: each would make two false minutiae. Larger blobs are
#: ridge fragments of dry skin, which the minutia rules below handle.
MIN_BLOB_AREA_PX = 17

# --- minutiae ---------------------------------------------------------------------------------------------------
#: Skeleton length traced from a minutia to measure its direction (px, about one ridge period of 8 to 9 px).
DIRECTION_TRACE_PX = 8
#: Minutiae closer than this to the foreground border (px, about one ridge period) are dropped: the ridge ends there
#: because the image does.
BORDER_MARGIN_PX = 7.5
#: A skeleton branch shorter than this (px, about 1.2 ridge periods) between two minutiae is a spur, a bridge or a
#: short break: both minutiae are false. Real ridges are rarely shorter than a period between two minutiae; at 1.7
#: periods (14 px) the rule removed true short ridges and lakes too. With all the rules of this section at about 0.75
#: of their former lengths (and SEGMENT_ENERGY_FRACTION 0.05) the EER fell on five of the eight FVC B databases (the
#: four FVC2002 ones, FVC2000 DB4), stayed on FVC2000 DB1 and rose on FVC2000 DB2 and DB3 (3.9 to 4.6%, 8.8 to 9.6%).
SHORT_BRANCH_PX = 10
#: Two ridge endings closer than this (px, about 1.4 ridge periods) whose directions face each other are one broken
#: ridge.
BROKEN_RIDGE_GAP_PX = 12.0
#: ... and 'facing each other' means their directions differ from opposite by at most this (rad).
BROKEN_RIDGE_ANGLE_RAD = 0.8
#: Any two minutiae closer than this (px, about half a ridge period) are noise (real minutiae are rarely closer).
MIN_MINUTIA_DISTANCE_PX = 4.5
#: Minutiae whose local orientation coherence is below this (0..1) sit in noise and are dropped.
MIN_MINUTIA_COHERENCE = 0.05
#: At most this many minutiae are kept (best quality first): more only slows matching.
MAX_MINUTIAE = 90

# --- quality (in the spirit of NFIQ 2, ISO/IEC 29794-4:2024) ----------------------------------------------------
#: Foreground area (mm²) from which a print counts as whole (about 8 x 8 mm, the core area of a small sensor); less
#: area means fewer minutiae in common and lowers the score in proportion.
QUALITY_FULL_AREA_MM2 = 60.0
#: Below this foreground area (mm²) there is no finger to speak of (a touch, a smudge, a blank image).
QUALITY_NO_FINGER_AREA_MM2 = 15.0
#: Below this area (mm²), or with the finger's centre this far off the image centre (fraction of the half-size),
#: the operator is asked to re-centre the finger.
QUALITY_PARTIAL_AREA_MM2 = 60.0
QUALITY_OFF_CENTRE_FRACTION = 0.45
#: A score at or above this is accepted (MOSIP's threshold for NFIQ 2-based scores is 40 for slaps).
QUALITY_ACCEPT_SCORE = 40
#: Grey level (0..255) of the foreground above which ridges are too faint (light touch, dry skin), and below which
#: the print is flooded (wet or greasy skin, dirt).
QUALITY_FAINT_GREY = 175.0
QUALITY_DARK_GREY = 85.0

# === Bit-based MCC and the native search (fingerprint/mcc_bits.py, native/) =======================================
# Owned by the native matching core (issue 4). Cappelli, Ferrara, Maltoni, IEEE TPAMI 32(12) 2010, §5 (MCC8b).
#: Spatial cells per side of the bit cylinder: 8 x 8 = 64 cells = one uint64 word per direction bin. Fixed by the word
#: layout; not a tuning value.
BITS_SPATIAL_CELLS = 8
#: Direction bins of the bit cylinder (MCC8b, §5).
BITS_DIRECTION_CELLS = 5
#: Cylinders kept per template, best minutia quality first: 36 cylinders x 54 bytes fit the 2 KiB gallery budget; a
#: 90-minutia template keeps its 36 most reliable neighbourhoods (cost measured in native/README.md).
BITS_MAX_CYLINDERS = 36
#: A gallery template's budget (bytes): bit cylinders (48 B of cells and validity + 6 B of minutia each), the
#: template's other minutiae (6 B each, for the float rescoring of identify's best candidates) and its row data (two
#: offsets, finger, voter id: the allowance). A template with many minutiae keeps fewer bit cylinders to stay inside:
#: min(BITS_MAX_CYLINDERS, (budget - allowance - 6 x minutiae) // 48), e.g. 36 up to 47 minutiae, 30 at 90.
GALLERY_TEMPLATE_BYTES = 2048
GALLERY_ROW_ALLOWANCE_BYTES = 40
#: Pair-compatibility inputs (eq. 21-23) are quantised so that ρ is a table lookup: distance differences in steps of
#: 1/16 px, tabled up to 64 px (beyond, Z(d1) is below the floor).
BITS_DISTANCE_STEPS_PER_PX = 16
BITS_DISTANCE_TABLE_PX = 64
#: Segment directions: atan through an octant table of 4,096 steps of the ratio (error below 1/65536 turn).
BITS_ATAN_TABLE_STEPS = 4096
#: Direction and radial-angle sigmoids tabled on 1/4096 turn (0.09°): differences in 1/65536 turn are rounded by this
#: shift (bits), so each table is 2,049 doubles (16 KiB) and stays in the L1/L2 cache of the hot loop.
BITS_ANGLE_TABLE_SHIFT = 4
#: Sigmoid table entries below this value (dimensionless, Z of eq. 23) are exactly 0, so the kernel skips the rest of a
#: pair whose distance or direction already rules it out. A pair's ρ weighs at most 1/(n_R - 1) of a λ in [0, 1], so
#: the score moves by less than 1e-12 (far below the 1e-4 of any EER threshold).
BITS_RELAX_TABLE_FLOOR = 1e-12
#: identify(): probe cylinders taking part in the screening pass, evenly spread over the probe's (bench/match.py
#: measures the rank-1 this keeps against the exhaustive search).
SEARCH_SCREEN_CYLINDERS = 16
#: identify(): templates kept by the screening pass for the full LSS-R score: at least this many, or this fraction of
#: the gallery, whichever is larger. Measured: at 30,000 templates (FVC2002 fingers padded with 3,000 synthetic
#: templates each repeated ten times) the worst screening rank of the exhaustive search's answer over 158 probes was
#: 726 (2.4%), with 16 screening cylinders or all 36; 4% keeps a 1.65x margin for 12 ms of full scores.
SEARCH_SHORTLIST_MIN = 200
SEARCH_SHORTLIST_FRACTION = 0.04
#: identify(): the best bit-scored templates that are scored again by the compiled float reference
#: (native/_float_cy.pyx), which then ranks them. About 1 ms of CPU each (a candidate's float cylinders are built from
#: its minutiae), so 16 cost some 8 ms on two cores. The rank-1 this keeps against an exhaustive float search is
#: measured by bench/match.py.
SEARCH_RESCORE_CANDIDATES = 16
