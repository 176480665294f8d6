import numpy as np
import numpy.typing as npt

MAX_MINUTIAE: int
N_FLOAT_PARAMS: int

class Form:
    @staticmethod
    def build(
        x: npt.NDArray[np.int16], y: npt.NDArray[np.int16], angle: npt.NDArray[np.uint16], params: npt.NDArray[np.float64]
    ) -> Form | None: ...
    def __len__(self) -> int: ...
    def compare(self, other: Form) -> float: ...

def score_many(
    px: npt.NDArray[np.int16],
    py: npt.NDArray[np.int16],
    pangle: npt.NDArray[np.uint16],
    offsets: npt.NDArray[np.int64],
    gx: npt.NDArray[np.int16],
    gy: npt.NDArray[np.int16],
    gangle: npt.NDArray[np.uint16],
    eoffsets: npt.NDArray[np.int64],
    ex: npt.NDArray[np.int16],
    ey: npt.NDArray[np.int16],
    eangle: npt.NDArray[np.uint16],
    rows: npt.NDArray[np.int64],
    params: npt.NDArray[np.float64],
    out: npt.NDArray[np.float64],
    threads: int,
) -> int: ...
def compare_many(probe: Form, others: list[Form], out: npt.NDArray[np.float64], threads: int) -> int: ...
