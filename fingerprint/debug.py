"""Optional sink for the extractor's intermediate images ("transparency"): free when not used.

The extractor calls ``sink.record(stage, value)`` only when a sink was passed, so turning the sink off costs one
``None`` test per stage.
"""

from __future__ import annotations

from typing import Any


class DebugSink:
    """Collects each stage's output by stage name, in pipeline order."""

    def __init__(self) -> None:
        self.stages: dict[str, Any] = {}

    def record(self, stage: str, value: Any) -> None:
        """Keep ``value`` (an array or a small value object) as the output of ``stage``."""
        self.stages[stage] = value

    def __contains__(self, stage: object) -> bool:
        return stage in self.stages

    def __getitem__(self, stage: str) -> Any:
        return self.stages[stage]
