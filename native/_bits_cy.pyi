import numpy as np
import numpy.typing as npt

def hamming_many(probe: npt.NDArray[np.uint64], rows: npt.NDArray[np.uint64], out: npt.NDArray[np.int32]) -> None: ...
