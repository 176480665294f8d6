import numpy as np
import numpy.typing as npt

def score_many(
    px: npt.NDArray[np.int16],
    py: npt.NDArray[np.int16],
    pangle: npt.NDArray[np.uint16],
    pcells: npt.NDArray[np.uint64],
    pvalid: npt.NDArray[np.uint64],
    offsets: npt.NDArray[np.int64],
    gx: npt.NDArray[np.int16],
    gy: npt.NDArray[np.int16],
    gangle: npt.NDArray[np.uint16],
    gcells: npt.NDArray[np.uint64],
    gvalid: npt.NDArray[np.uint64],
    rows: npt.NDArray[np.int64],
    params: npt.NDArray[np.float64],
    z1: npt.NDArray[np.float64],
    z2: npt.NDArray[np.float64],
    z3: npt.NDArray[np.float64],
    atan: npt.NDArray[np.int32],
    q1: float,
    shift: int,
    out: npt.NDArray[np.float64],
    threads: int,
    simd: int,
) -> int: ...
def screen_many(
    pangle: npt.NDArray[np.uint16],
    pcells: npt.NDArray[np.uint64],
    pvalid: npt.NDArray[np.uint64],
    offsets: npt.NDArray[np.int64],
    gangle: npt.NDArray[np.uint16],
    gcells: npt.NDArray[np.uint64],
    gvalid: npt.NDArray[np.uint64],
    params: npt.NDArray[np.float64],
    out: npt.NDArray[np.float64],
    threads: int,
    simd: int,
) -> int: ...
def simd_available() -> bool: ...
