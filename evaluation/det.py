"""DET curve drawing (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from evaluation.metrics import error_curve


def draw_det(curves: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]], path: Path) -> None:
    """Write a DET plot (FNMR against FMR, log-log) of each (genuine, impostor) score set to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 5))
    floor = 1e-4
    for label, (genuine, impostor) in curves.items():
        curve = error_curve(genuine, impostor)
        axes.plot(
            np.maximum(curve.fmr, floor), np.maximum(curve.fnmr, floor), label=label, drawstyle="steps-post"
        )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlim(floor, 1)
    axes.set_ylim(floor, 1)
    axes.plot([floor, 1], [floor, 1], color="grey", linewidth=0.5, linestyle=":")
    axes.set_xlabel("false match rate")
    axes.set_ylabel("false non-match rate")
    axes.set_title("DET")
    axes.grid(True, which="both", linewidth=0.3)
    axes.legend(loc="lower left")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
