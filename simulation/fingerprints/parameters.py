"""Every tunable number of the synthetic fingerprint generator, with its unit and the reason for its value.

Lengths are pixels at 500 dpi, angles radians. The method follows SFinGe: R. Cappelli, D. Maio, D. Maltoni,
"Synthetic fingerprint-database generation", ICPR 2002, and D. Maltoni, D. Maio, A. K. Jain, S. Prabhakar,
*Handbook of Fingerprint Recognition*, 2nd ed., Springer 2009, chapter 6 "Synthetic fingerprint generation"
(cited below as [HB6]; section names, not numbers, because editions differ). The numbers are ours, chosen by looking at the shared real databases.
"""

from __future__ import annotations

import math

#: Resolution of every generated image (dots per inch).
DPI = 500

# --- canvas and fingertip silhouette [HB6] ----------------------------------------------------------------
#: Master canvas (px): room for the whole fingertip plus the margin that impressions shift into.
MASTER_WIDTH_PX = 448
MASTER_HEIGHT_PX = 560
#: Fingertip silhouette half-width and the heights of its upper (rounded tip) and lower parts (px): a fingertip is
#: about 14 to 19 mm wide (280 to 380 px) where it touches a scanner.
TIP_HALF_WIDTH_PX = (140.0, 175.0)
TIP_UPPER_HEIGHT_PX = (150.0, 190.0)
TIP_LOWER_HEIGHT_PX = (170.0, 230.0)

# --- singular points [HB6] --------------------------------------------------------------------------------
#: Share of each pattern class in a population (NIST figures of Wilson, Candela, Watson 1994, quoted in the Handbook's classification chapter: arch 3.7 %, tented arch 2.9 %,
#: left loop 33.8 %, right loop 31.7 %, whorl 27.9 %).
CLASS_FREQUENCIES = {
    "arch": 0.037,
    "tented_arch": 0.029,
    "left_loop": 0.338,
    "right_loop": 0.317,
    "whorl": 0.279,
}
#: Distance from a loop's core to its delta (px): about 8 to 15 ridges at 9 px per ridge.
LOOP_CORE_DELTA_PX = (110.0, 170.0)
#: Angle of the core-to-delta line below the horizontal for loops (rad): deltas sit low and to the side.
LOOP_DELTA_ANGLE_RAD = (math.radians(45.0), math.radians(70.0))
#: Tented arch: the delta sits almost straight under the core, this far (px).
TENTED_CORE_DELTA_PX = (60.0, 100.0)
#: Whorl: distance between the two cores (px) and from the centre to each delta (px).
WHORL_CORE_GAP_PX = (25.0, 60.0)
WHORL_DELTA_DISTANCE_PX = (130.0, 180.0)
#: Arch model (ours, see orientation.py): height of the bump the ridges rise over (px) and its half-width (px).
ARCH_HEIGHT_PX = (90.0, 150.0)
ARCH_HALF_WIDTH_PX = (90.0, 140.0)
#: Random tilt of the whole pattern (rad): fingers are not placed exactly upright when the master is "taken".
PATTERN_TILT_RAD = math.radians(8.0)

#: Smooth random wobble added to the model orientation (rad, peak) and its feature size (px): without it every
#: finger of a class flows alike and impostor scores run higher than on real databases. Measured with the
#: project's engine on 20 synthetic fingers (190 impostor pairs): at 0.3 rad / 90 px, impostors of the same class
#: scored 0.022 on average against 0.018 across classes (real databases: 0.014 to 0.016 overall); at 0.6 rad / 60 px
#: the same-class mean fell to 0.019 and the spread of impostor scores (SD 0.004 -> 0.003) came near the real 0.0012
#: to 0.0026. Pores, creases, dirt, sensor noise, seed density and the period step changed nothing measurable.
ORIENTATION_WOBBLE_RAD = 0.6
ORIENTATION_WOBBLE_SCALE_PX = 60.0
#: Averaging of the orientation field across the ridges (density.bend_together): half-length of the averaging line
#: along the ridge normal (px), number of passes, and the distance (px, Gaussian sigma) within which the singular
#: points keep the model's field. Neighbouring ridges of a real finger bend together; where the zero-pole field and
#: the wobble make them fan out instead, ridges must start or stop at a constant period, and those minutiae are
#: forced by the flow. Measured from the pixels (tests/simulation/fingerprint_measures.forced_minutiae_per_area, away
#: from singular points), per 10,000 px²: 3.6 to 4.8 on first impressions of six FVC2000/2002 B databases, 8.1 on
#: our impressions without this step; the engine found 5.0 to 6.6 minutiae per 10,000 px² inside the real prints
#: (more than 40 px from the border), 8.7 inside ours, and 7.0 to 8.5 neighbours within 70 px per minutia against
#: our 10. Every knob of the growth (seeds, iterations, envelope, gain, normalisation, bins, period step and
#: variation) left the density at 8 to 9 on clean masters; this step brings it to 6.4 (60 px, 3 passes; 100 px
#: gave 6.0 but began to move the loops' cores and, at 80 px, the measured period of an arch).
ACROSS_SMOOTHING_PX = 60.0
ACROSS_SMOOTHING_PASSES = 3
ACROSS_SMOOTHING_KEEP_PX = 30.0

# --- ridge period (density) map [HB6] ---------------------------------------------------------------------
#: Mean ridge period of a finger (px at 500 dpi): adult ridge periods are about 0.4 to 0.5 mm, i.e. 8 to 10 px.
#: The range is as wide as the spread between fingers of one real database (centre period of the first impressions,
#: 10th to 90th percentile: FVC2002 DB2 8.1 to 10.9 px, FVC2000 DB1 8.4 to 10.0 px): a narrower one made every
#: synthetic finger's ridges alike.
MEAN_PERIOD_PX = (7.8, 10.4)
#: Amplitude of the smooth random variation of the period over the finger (px).
PERIOD_VARIATION_PX = 1.0
#: Extra period above the core region (px): ridges are wider apart towards the fingertip [HB6].
PERIOD_TIP_EXTRA_PX = 0.8
#: Limits and quantum of the period map (px): one bank of filters per quantum.
PERIOD_MIN_PX = 7.5
PERIOD_MAX_PX = 11.5
PERIOD_STEP_PX = 1.0

# --- ridge growth by iterative Gabor filtering [HB6] ------------------------------------------------------
#: Orientation bins of the filter bank: 16 bins are 11.25 degrees wide, finer than the local orientation changes
#: over one filter support except right at the singular points.
ORIENTATION_BINS = 16
#: Gaussian envelope of the Gabor filters, as a fraction of the local period: about half a period keeps the filter
#: narrow-band enough to enforce the period yet local enough to follow the orientation.
GABOR_SIGMA_PER_PERIOD = 0.48
#: Growth iterations: starting from sparse seeds each pass grows ridges by about a filter radius.
GROWTH_ITERATIONS = 7
#: One random seed point per this many square pixels of fingertip: the seeds' density sets how many minutiae appear
#: where fronts of ridges growing from different seeds meet.
SEED_AREA_PX2 = 2200.0
#: Gain before clipping to [-1, 1] after each pass: the clipping is what makes ridges binary-like.
GROWTH_GAIN = 3.0
#: Width of the window (Gaussian sigma, px) over which the local ridge amplitude is measured for normalisation:
#: about one ridge period.
GROWTH_NORMALISATION_SIGMA_PX = 8.0
#: Irregular ridge features drawn on the grown ridges (see ridges.add_irregularities): one per this many square
#: pixels of fingertip (about 45 per finger; most are bridged by the engine's contextual filtering or dropped by its
#: false-minutia rules, as real ones are), and the shares of breaks, short ridges and lakes. Measured with the engine
#: on 40 fingers x 2 impressions (real FVC2000/2002 B: 0.09 to 0.23 facing pairs per minutia, impostor mean 0.0144 to
#: 0.0161): none, 0.05 facing pairs per minutia and impostor mean 0.0184; one per 3000 px², 0.08 and 0.0179; one per
#: 2000 px², 0.11 and 0.0179; one per 1500 px², 0.14 and 0.0176, but then the features crowd the ridge texture
#: enough to move the measured ridge period of some fingers (tests/simulation/test_fingerprints.py).
IRREGULARITY_AREA_PX2 = 2000.0
IRREGULARITY_SHARES = (0.45, 0.4, 0.15)
#: Half-lengths, in local ridge periods, of a break and of a short ridge or lake.
BREAK_HALF_LENGTH_PERIODS = (0.9, 1.8)
SHORT_RIDGE_HALF_LENGTH_PERIODS = (0.8, 2.2)

# --- impressions [HB6] ---------------------------------------------------------------------------------------
#: Impression size (px): between FVC2002 DB1 (388 x 374) and CrossMatch (504 x 480).
IMPRESSION_WIDTH_PX = 400
IMPRESSION_HEIGHT_PX = 480
#: Translation of the finger on the platen (px, standard deviation) and rotation (rad, uniform half-range).
TRANSLATION_SD_PX = 38.0
ROTATION_HALF_RANGE_RAD = math.radians(20.0)
#: Share of careless placements and how much farther they go (translation, rotation, contact offset and plastic
#: distortion all scaled by the factor; rotation never beyond ROTATION_MAX_RAD). FVC2000 and FVC2002 asked their
#: volunteers to exaggerate displacement and rotation on part of the impressions (D. Maio, D. Maltoni, R. Cappelli,
#: J. L. Wayman, A. K. Jain, "FVC2002: Second Fingerprint Verification Competition", ICPR 2002), and most of the low
#: genuine scores of those databases come from such pairs: with every impression placed the same careful way, our
#: genuine pairs were too easy (EER 0.4 % against 1.6 % to 9.6 % on the FVC B databases).
CARELESS_SHARE = 0.3
CARELESS_FACTOR = 1.8
ROTATION_MAX_RAD = math.radians(35.0)
#: Contact region: an ellipse whose half-axes are this fraction of the fingertip's, grown with pressure.
CONTACT_SCALE = (0.75, 1.05)
#: Standard deviation (x, y px) of the contact ellipse's centre about the fingertip's: the finger rolls and tilts.
CONTACT_SHIFT_SD_PX = (15.0, 20.0)
#: Plastic distortion (Cappelli, Maio, Maltoni, "Modelling plastic distortion in fingerprint images", ICAPR 2001):
#: the close-contact region is this fraction of the contact region; outside it the skin follows an extra rigid
#: motion, up to these limits, reached over a transition this wide (px).
CLOSE_CONTACT_SCALE = 0.45
DISTORTION_ROTATION_RAD = math.radians(7.0)
DISTORTION_SHIFT_PX = 22.0
DISTORTION_TRANSITION_PX = 60.0
#: One sweat pore per this many square pixels of ridge crest: pores are about 0.4 mm (8 px) apart along a ridge.
PORE_AREA_PX2 = 60.0
#: Grey levels (0 black to 255 white): sensor background and the darkest ridge.
BACKGROUND_GREY = (205.0, 250.0)
RIDGE_CONTRAST_GREY = (150.0, 215.0)
#: Chance that an ordinary finger shows a crease or scar line or two (worn fingers always show several).
CREASE_CHANCE = 0.3
#: How much ridge contrast may fade over parts of the contact from uneven pressure (fraction of full contrast).
PRESSURE_UNEVENNESS = 0.5
#: At most this many smudges of dirt or latent residue on the platen per impression.
DIRT_SPOTS_MAX = 4
#: Sensor noise (grey levels, standard deviation) and blur of the optics (px, Gaussian sigma).
NOISE_SD_GREY = (5.0, 24.0)
BLUR_SIGMA_PX = (0.7, 1.5)
