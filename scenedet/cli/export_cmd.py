"""``scenedet export``: a saved ``scenedet run`` result into other formats, without the models.

Also home of the output options ``scenedet run`` shares (:func:`output_options`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from scenedet.cli import cli
from scenedet.cli.params import OUTPUT_HELP

_OUTPUT_HELP = ("Write the scenes here; the suffix picks the format: .json .csv .edl .otio "
                ".fcpxml (Final Cut Pro) .xml (Premiere, Resolve) .vtt (and any a plugin adds, see `scenedet plugins`); no suffix (/dev/stdout, a FIFO) is JSON. "
                "Repeatable. " + OUTPUT_HELP)


def output_options(func):
    """The options naming what a run or an export writes (one group, shared by both)."""
    options = [
        click.option("--clips", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
                     help="Write each scene as its own file here, by stream copy (no re-encode; "
                          "starts at the keyframe at or before the scene)."),
        click.option("--clips-exact", is_flag=True,
                     help="With --clips: re-encode (H.264) for frame-exact cuts."),
        click.option("--stills", type=click.Path(file_okay=False, path_type=Path), metavar="DIR",
                     help="Write thumbnails of each scene here (JPEG)."),
        click.option("--stills-per-scene", type=click.IntRange(min=1), default=3,
                     show_default=True, metavar="N", help="Thumbnails per scene."),
        click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
                     help="Timeline plot (.png/.svg/.pdf): probability per second, the "
                          "threshold, the scenes (a detector's result: its segments and their "
                          "scores)."),
        click.option("--report", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
                     help="Self-contained HTML page: the film in a player, the timeline, the "
                          "scene list (click a scene to play it). With several plugins one "
                          "path gives one page with a section each; put {scene} in it for "
                          "one page each."),
        click.option("--annotations", "-a", type=click.Path(dir_okay=False, path_type=Path),
                     metavar="FILE", help="Annotation file (CSV/JSON): draw the film's annotated "
                                          "scenes on the plot and the report."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def plan_from(outputs: tuple[Path, ...], options: dict[str, Any]):
    """An :class:`~scenedet.outputs.produce.OutputPlan` from the CLI's values (checked)."""
    from scenedet.outputs.produce import OutputPlan

    if options.get("clips_exact") and options.get("clips") is None:
        raise click.BadParameter("needs --clips DIR", param_hint="--clips-exact")
    plan = OutputPlan(outputs=outputs, clips=options.get("clips"),
                      clips_exact=bool(options.get("clips_exact")), stills=options.get("stills"),
                      stills_per_scene=options.get("stills_per_scene") or 3,
                      plot=options.get("plot"), report=options.get("report"),
                      annotations=options.get("annotations"))
    plan.check()
    return plan


@cli.command("export")
@click.argument("result", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", "outputs", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path), metavar="PATH", help=_OUTPUT_HELP)
@click.option("--fps", metavar="RATE",
              help="Frame rate for frames and timecodes, e.g. 25 or 30000/1001 (default: the "
                   "result's, else probed from its film).")
@click.option("--video", type=click.Path(dir_okay=False, path_type=Path), metavar="FILM",
              help="Where the film is now (default: the result's \"video\").")
@output_options
@click.option("--quiet", "-q", is_flag=True, help="No progress and no summary.")
def export_command(result: Path, outputs: tuple[Path, ...], fps: str | None, video: Path | None,
                   quiet: bool, **options: Any) -> None:
    """Convert a saved `scenedet run` RESULT (JSON) into other formats.

    \b
    RESULT is one plugin's result, or a run document of several
    ({"results": [...]}, what `scenedet run -p kissing -p shots -o run.json`
    writes). With several results, put {scene} in a path for one file
    each (-o 'film.{scene}.edl' -> film.kissing.edl, film.shots.edl); a
    plain .json path gets them all in one run document, a plain --report
    path one page with a section per result, any other plain path is refused.

    \b
    Examples:
      scenedet export film.json -o film.edl -o film.csv
      scenedet export film.json -o film.otio --fps 30000/1001
      scenedet export film.json -o film.fcpxml -o film.xml   Final Cut; Premiere, Resolve
      scenedet export film.json --report film.html --clips clips/
      scenedet export run.json -o 'film.{scene}.edl'       one EDL per plugin
      scenedet export run.json --report film.html          one page, a section each

    No model is loaded: the scenes come from RESULT. Clips, stills and the report
    need the film (RESULT's "video", or --video).
    """
    from fractions import Fraction

    import attrs

    from scenedet.errors import UsageError
    from scenedet.outputs.document import RESULT, documents_in, load_result, read_document
    from scenedet.outputs.produce import produce
    from scenedet.outputs.timecode import FrameRate

    if not outputs and not any(options.get(k) for k in ("clips", "stills", "plot", "report")):
        raise click.UsageError("nothing to write: give -o PATH (repeatable), --clips, --stills, "
                               "--plot or --report")
    rate = None
    if fps is not None:
        try:
            rate = FrameRate(Fraction(fps.strip()))
        except (ValueError, ZeroDivisionError):
            raise click.BadParameter(f"{fps!r}: use a positive number or ratio, e.g. 25 or "
                                     "30000/1001", param_hint="--fps") from None
    plan = plan_from(outputs, options)  # suffixes and folders checked before anything is read
    form, docs = documents_in(read_document(result), source=str(result))
    say = (lambda _line: None) if quiet else (lambda line: click.echo(line, err=True))
    if form != RESULT:
        _export_several(result, docs, outputs, options, rate, video, say, quiet)
        return
    if rate is None and video is not None and video.is_file():
        from scenedet.outputs.document import film_frame_rate

        try:
            scenes = load_result(result)
        except UsageError:
            scenes = load_result(result, rate=film_frame_rate(video))
    else:
        scenes = load_result(result, rate=rate)
    if video is not None:
        scenes = attrs.evolve(scenes, video=str(video))
    produce(scenes, plan, progress=False if quiet else None, say=say)


def _export_several(result: Path, docs: list[dict[str, Any]], outputs: tuple[Path, ...],
                    options: dict[str, Any], rate: Any, video: Path | None, say: Any,
                    quiet: bool) -> None:
    """A run document's results, one set of outputs each ({scene} templates), or all in one
    JSON run document (:mod:`scenedet.outputs.several`)."""
    from scenedet.errors import UsageError
    from scenedet.outputs.several import plan_outputs, plan_targets, write_outputs, write_targets
    from scenedet.outputs.timecode import FrameRate

    names = [str(d.get("scene", "")) for d in docs]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"{result}: holds {twice[0]!r} twice; {{scene}} cannot tell them apart")
    if video is not None:
        docs = [{**d, "video": str(video)} for d in docs]
    film = str(docs[0].get("video", ""))
    media = plan_from((), options)
    if any(getattr(media, k) is not None for k in ("clips", "stills", "plot", "report")):
        planned = plan_outputs(outputs, names, media)
        written, stdout = write_outputs(docs, planned, film, progress=False if quiet else None,
                                        say=say)
    else:
        if rate is None and isinstance(docs[0].get("frame_rate"), dict):
            try:
                rate = FrameRate.from_dict(docs[0]["frame_rate"])
            except (ValueError, TypeError, ZeroDivisionError) as exc:
                raise UsageError(f"{result}: bad \"frame_rate\": {exc}") from None
        targets = plan_targets(outputs, names)
        written, stdout = write_targets(docs, targets, film, rate=rate)
        for path in written:
            say(f"-> {path}")
    if stdout is not None:
        click.echo(stdout, nl=False)
