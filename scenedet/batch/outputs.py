"""What a batch writes per film besides its result JSON: ``scenedet run``'s outputs, by film name.

:class:`BatchOutputs` is the batch form of ``scenedet run``'s output options: scene-list formats
by suffix (``.csv .edl .otio .fcpxml .xml .vtt`` and any a plugin registers), clips, stills, a timeline plot
and an HTML report. For a film named NAME it becomes an
:class:`~scenedet.outputs.produce.OutputPlan` writing ``OUTDIR/NAME.csv``, ``OUTDIR/NAME.clips/``,
``OUTDIR/NAME.stills/``, ``OUTDIR/NAME.png``, ``OUTDIR/NAME.html``... and
:func:`~scenedet.outputs.produce.produce` writes them: the same code as ``scenedet run``.

Each output has a name (``".csv"``, ``"clips"``, ``"clips-exact"``, ``"stills-N"`` (N per scene), ``"plot"``,
``"report"``); a film's result records the names it was written with (``batch.outputs``), and a
film is complete only when every output asked for is recorded there and exists
(:func:`~scenedet.batch.state.result_status`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import attrs

from scenedet.errors import UsageError


def _suffixes(values: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        suffix = str(value).strip().lower()
        if suffix and not suffix.startswith("."):
            suffix = "." + suffix
        if suffix != ".json" and suffix not in out:  # the result JSON is always written
            out.append(suffix)
    return tuple(out)


@attrs.frozen(kw_only=True)
class BatchOutputs:
    """The outputs asked for each film (none by default: the result JSON only)."""

    formats: tuple[str, ...] = attrs.field(default=(), converter=_suffixes)
    clips: bool = False
    clips_exact: bool = False
    stills: bool = False
    stills_per_scene: int = 3
    plot: bool = False
    report: bool = False
    #: The plugins of the batch (:func:`~scenedet.batch.driver.plan_batch` sets them). With
    #: several, each output is written once per plugin: ``NAME.PLUGIN.csv``,
    #: ``NAME.PLUGIN.clips/``..., named ``PLUGIN:.csv``, ``PLUGIN:clips``... in the result.
    plugins: tuple[str, ...] = attrs.field(default=(), converter=tuple)

    def check(self) -> None:
        """Refuse what would fail for every film, before any film starts (one-line UsageError)."""
        if self.clips_exact and not self.clips:
            raise UsageError("exact clips need clips to be asked for")
        for suffix in self.formats:
            if suffix in (".", "") or "/" in suffix:
                raise UsageError(f"{suffix!r} is not a file suffix (e.g. .csv)")
        from scenedet.outputs import check_output_paths

        for suffix in self.formats:
            try:
                check_output_paths([f"film{suffix}"])
            except UsageError as exc:
                raise UsageError(str(exc).replace(f"film{suffix}: ", "", 1)) from None
        self.plan(Path("outdir"), "film").check()

    def paths(self, outdir: str | Path, name: str) -> dict[str, Path]:
        """Each output's name -> where it goes for film ``name``."""
        outdir = Path(outdir)
        out: dict[str, Path] = {}
        several = len(self.plugins) > 1
        for plugin in self.plugins if several else ("",):
            key = f"{plugin}:" if several else ""
            base = f"{name}.{_safe(plugin)}" if several else name
            out.update({key + suffix: outdir / f"{base}{suffix}" for suffix in self.formats})
            if self.clips:
                out[key + ("clips-exact" if self.clips_exact else "clips")] = outdir / f"{base}.clips"
            if self.stills:
                out[key + f"stills-{self.stills_per_scene}"] = outdir / f"{base}.stills"
            if self.plot:
                out[key + "plot"] = outdir / f"{base}.png"
            if self.report:
                out[key + "report"] = outdir / f"{base}.html"
        return out

    def names(self) -> list[str]:
        """The names recorded in a film's result (``batch.outputs``), sorted."""
        return sorted(self.paths(".", "film"))

    def plan(self, outdir: str | Path, name: str, only: Iterable[str] | None = None,
             plugin: str | None = None):
        """The :class:`~scenedet.outputs.produce.OutputPlan` of film ``name`` (``only``: these
        output names, to complete a film that has the others; ``plugin``: whose, with several)."""
        from scenedet.outputs.produce import OutputPlan

        paths = self.paths(outdir, name)
        if only is not None:
            keep = set(only)
            paths = {k: v for k, v in paths.items() if k in keep}
        if len(self.plugins) > 1:
            key = f"{plugin}:"
            paths = {k[len(key):]: v for k, v in paths.items() if k.startswith(key)}
        clips = paths.get("clips-exact", paths.get("clips"))
        stills = next((v for k, v in paths.items() if k.startswith("stills-")), None)
        return OutputPlan(outputs=tuple(v for k, v in paths.items() if k.startswith(".")),
                          clips=clips, clips_exact="clips-exact" in paths,
                          stills=stills, stills_per_scene=self.stills_per_scene,
                          plot=paths.get("plot"), report=paths.get("report"))

    @staticmethod
    def is_folder(name: str) -> bool:
        """Whether output ``name`` is a folder of per-scene files (none when there is no scene)."""
        kind = name.rpartition(":")[2]
        return kind.startswith(("clips", "stills"))

    def __bool__(self) -> bool:
        return bool(self.names())


def _safe(name: str) -> str:
    """A plugin name as a file-name part."""
    return name.replace("/", "_").replace("\\", "_")
