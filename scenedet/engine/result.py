"""``RunResult``: what one run of any mix of plugins over one film gives back."""

from __future__ import annotations

from typing import Any

import attrs

#: The version of the JSON a run writes (``docs/result.schema.json``); bumped when a key changes
#: meaning, not when one is added.
SCHEMA_VERSION = 1


@attrs.frozen
class RunResult:
    """One film's results, one per plugin asked for, under the name it was asked by.

    ``results[name]`` is a per-second scene's :class:`~scenedet.inference.pipeline.SceneResult`
    or a detector's :class:`~scenedet.inference.framerun.FrameResult`; both are the same
    documented result (``to_dict()``: segments with start/end seconds, frame numbers, SMPTE
    timecodes, score and label; the per-time scores; settings, model provenance, damage).
    ``profile``: the stages' seconds when the run was asked to profile.
    """

    video: str
    results: dict[str, Any]
    profile: dict[str, Any] | None = None

    @property
    def names(self) -> list[str]:
        return list(self.results)

    def __getitem__(self, name: str) -> Any:
        return self.results[name]

    def __iter__(self):
        return iter(self.results.values())

    def __len__(self) -> int:
        return len(self.results)

    def documents(self, rate: Any = None) -> dict[str, dict[str, Any]]:
        """Each result's JSON document (:func:`scenedet.outputs.document.document_of`: frames
        and timecodes at ``rate``, the film's frame rate, probed when not given)."""
        from scenedet.outputs.document import document_of, film_frame_rate

        rate = rate if rate is not None else film_frame_rate(self.video)
        return {name: document_of(r, rate) for name, r in self.results.items()}

    def to_dict(self, rate: Any = None) -> dict[str, Any]:
        """One JSON document holding every result (the form a run of several plugins writes to
        one file; ``scenedet export`` and ``scenedet segment`` read it)."""
        return {"scenedet": "run", "version": SCHEMA_VERSION, "video": self.video,
                "results": list(self.documents(rate).values())}


__all__ = ["SCHEMA_VERSION", "RunResult"]
