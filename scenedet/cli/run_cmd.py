"""``scenedet run``: find the scenes of one scene plugin in a film."""

from __future__ import annotations

from pathlib import Path

import click

from scenedet.cli import cli
from scenedet.cli.export_cmd import _OUTPUT_HELP, output_options, plan_from
from scenedet.cli.params import (SPEEDUP_HELP, TIME, decode_workers_option, part_options,
                                  precision_option, resolve_part, runtime_option)

#: The output options (``output_options``) an :class:`~scenedet.outputs.produce.OutputPlan`
#: is made of, as click names them.
OUTPUT_KEYS = ("clips", "clips_exact", "stills", "stills_per_scene", "plot", "report",
               "annotations")


@cli.command("run")
@click.option("--plugin", "-p", "scenes", required=True, multiple=True, metavar="NAME",
              help="Scene or frame-level detector to run, as registered by a plugin (see "
                   "`scenedet plugins`); repeat to run several over one decode.")
@click.argument("video", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--model", "-m", type=click.Path(path_type=Path), metavar="PATH",
              help="Model file (default: the scene's installed model, see `scenedet train --install`).")
@click.option("-o", "--output", "outputs", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path), metavar="PATH",
              help=_OUTPUT_HELP + " Default: the JSON on stdout.")
@click.option("--aggregator", metavar="NAME", help="Segmentor (default: the scene's; `scenedet plugins` lists them).")
@click.option("--min-length", "-l", type=TIME, metavar="TIME", help="Shortest scene, whole seconds (default: the scene's, 10 for kissing).")
@click.option("--threshold", "-t", metavar="T", help="Least fraction of positive seconds in a scene, in (0, 1] (default: the scene's).")
@click.option("--label-threshold", type=float, metavar="P", help="Probability from which a second counts as positive (default 0.5).")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or auto.")
@click.option("--batch-size", type=click.IntRange(min=1), help="Seconds per model batch (default: 16 on the cpu, 64 on cuda).")
@click.option("--threads", type=click.IntRange(min=1), help="CPU threads for every network, the detectors' too (default: one per core).")
@decode_workers_option
@click.option("--speedup", type=click.Choice(["none", "int8", "compile"]), default="none",
              show_default=True, help=SPEEDUP_HELP)
@precision_option()
@runtime_option
@click.option("--gpu-preprocess", is_flag=True,
              help="Resize, crop and normalise the stills on the --device rather than on the "
                   "decoding thread (see docs/performance.md, GPU path).")
@click.option("--profile", is_flag=True,
              help="Print where the time went (decode, preprocessing, each model...) to stderr at "
                   "the end; also SCENEDET_PROFILE=1.")
@click.option("--weights", "weights", multiple=True, metavar="NAME=PATH",
              help="Backbone weight file for offline use, e.g. resnet18=resnet18-f37072fd.pth (repeatable).")
@part_options
@click.option("--no-audio", is_flag=True,
              help="Ignore the film's audio track: the audio model hears silence and detectors "
                   "that listen (cues' silence) get no sound (recorded in the settings).")
@output_options
@click.option("--option", "-O", "options", multiple=True, metavar="[NAME.]KEY=VALUE",
              help="Option of a frame-level detector, e.g. -O threshold=0.4 or "
                   "-O shots-content.min_shot=10 (repeatable); `scenedet plugins NAME` lists a "
                   "detector's options with their types and defaults.")
@click.option("--snap-to", metavar="DETECTOR",
              help="Move each scene's start and end to the nearest cut this shot detector finds "
                   "(e.g. shots), in the same run.")
@click.option("--snap-tolerance", default="2", show_default=True, type=TIME, metavar="TIME",
              help="With --snap-to: farthest a boundary moves.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no summary.")
def run_command(scenes: tuple[str, ...], video: Path, outputs: tuple[Path, ...],
                **opts: object) -> None:
    """Run scenes and frame-level detectors, any mix, over VIDEO in one decode.

    \b
    Examples:
      scenedet run --plugin kissing film.mp4                 JSON to stdout
      scenedet run -p kissing film.mp4 -o film.json --device cuda --batch-size 64
      scenedet run -p kissing film.mp4 --min-length 15s --threshold 0.8
      scenedet run -p kissing film.mp4 --weights resnet18=~/w/resnet18-f37072fd.pth
      scenedet run -p kissing film.mp4 -o film.json -o film.edl -o film.csv
      scenedet run -p kissing film.mp4 -o film.json --clips clips/ --report film.html
      scenedet run -p kissing film.mp4 --start 00:20:00 --duration 5:00   a part only

    The JSON has "segments" ([{"start", "end", "score"}], seconds of film time, end
    exclusive, score = mean probability inside, plus frames and SMPTE timecodes at the film's
    frame rate), "frame_rate", "scores" (one probability per second from second "start" on:
    0 unless --start) and, when packets of a damaged film were skipped, "damage" (how many,
    which seconds; those seconds got silence or the previous still). Re-cut it later without
    the models: `scenedet segment --min-length 20 film.json`; convert it with `scenedet export`.

    \b
    Frame-level detectors (no model to train; see docs/shots.md):
      scenedet run -p shots film.mp4                  shots, TransNetV2
      scenedet run -p shots-content film.mp4 -O threshold=2.5   classical
      scenedet run -p cues film.mp4                   black, silence, colour bars
      scenedet run -p shots -p cues film.mp4          one decode, one run document
      scenedet run -p kissing -p shots film.mp4 --snap-to shots
    Their segments carry "start"/"end" in seconds and "start_frame"/"end_frame"
    (end exclusive) and a "score" (a shot's: the confidence of its cut); a shot
    detector's result keeps its per-frame "scores", so `scenedet segment -O
    threshold=0.3 shots.json` re-cuts it without the film. Scenes and detectors in
    one run share one decode; several results in one JSON are one run document,
    {"results": [...]} (docs/outputs.md, docs/result.schema.json).

    \b
    Outputs with detectors or several plugins (docs/outputs.md):
      scenedet run -p shots film.mp4 -o shots.edl -o shots.csv    one plugin: any format
      scenedet run -p shots film.mp4 --clips clips/ --stills stills/ --report r.html
                                                      a clip and stills per shot
      scenedet run -p kissing -p shots film.mp4 -o all.json       one JSON of both
      scenedet run -p kissing -p shots film.mp4 -o 'film.{scene}.edl'   one file each
      scenedet run -p kissing -p shots film.mp4 --clips 'clips/{scene}' --report 'r.{scene}.html'
      scenedet run -p shots -p cues film.mp4 --report film.html   one page, a section each
      scenedet run -p shots film.mp4 --start 20:00 --duration 5:00   a part: film time
    With several plugins a plain path (other than one JSON of all, or one report of all)
    is refused (exit 2, before decoding): put {scene} in it. A detector's plot draws its segments and their
    scores (a shot's: its cut's confidence). --no-audio: the scenes hear silence and the
    detectors that listen (cues' silence) get no sound, recorded in their settings.
    """
    from scenedet import profiling

    if opts["profile"]:
        profiling.enable()
    _run(scenes, video, outputs, opts)
    if profiling.PROFILE.enabled:
        click.echo(profiling.PROFILE.report(), err=True)


def _run(scenes: tuple[str, ...], video: Path, outputs: tuple[Path, ...], o: dict) -> None:
    """Settings -> the engine -> outputs: everything checked before the film is decoded."""
    from scenedet.cli.settings import in_flags, settings_from_options
    from scenedet.engine import Engine
    from scenedet.errors import SettingError
    from scenedet.media.probe import check_path
    from scenedet.outputs.several import plan_outputs

    names = list(scenes)
    start, end = resolve_part(o["start"], o["end"], o["duration"])
    settings = settings_from_options(names, o, start=start, end=end, use_audio=not o["no_audio"],
                                     threads=o["threads"],
                                     progress=False if o["quiet"] else None)
    media = plan_from((), {k: o.get(k) for k in OUTPUT_KEYS})  # checked before any decode
    planned = plan_outputs(outputs or ("-",), names, media)
    try:
        engine = Engine(names, settings, load=False)
    except SettingError as exc:
        raise in_flags(exc) from None
    check_path(video)
    engine.load()
    _write(engine.run(video), planned, bool(o["quiet"]))


def _write(result, planned, quiet: bool) -> None:
    """Every output the plan names (JSON on stdout when no -o is given), then a summary."""
    from scenedet.outputs.document import film_frame_rate
    from scenedet.outputs.several import write_outputs
    from scenedet.timefmt import format_time

    say = (lambda _line: None) if quiet else (lambda line: click.echo(line, err=True))
    written, stdout = write_outputs(list(result), planned, result.video,
                                    progress=False if quiet else None, say=say)
    if stdout is not None:
        click.echo(stdout, nl=False)
    if not written or quiet:
        return
    for name, doc in result.documents(film_frame_rate(result.video)).items():
        what = "segment(s)" if doc["kind"] == "detector" else "scene(s)"
        count = (f"{doc.get('n_frames', 0)} frames" if doc["kind"] == "detector"
                 else f"{len(doc.get('scores', []))} s scored")
        click.echo(f"{len(doc['segments'])} {name} {what} in {doc['video']} ({count}):", err=True)
        for s in doc["segments"][:20]:
            score = "" if s.get("score") is None else f"  score {s['score']:.2f}"
            label = f"  {s['label']}" if s.get("label") else ""
            click.echo(f"  {format_time(s['start'])} - {format_time(s['end'])}  "
                       f"[{s['start_timecode']} - {s['end_timecode']}]{score}{label}", err=True)
        if len(doc["segments"]) > 20:
            click.echo(f"  ... {len(doc['segments']) - 20} more", err=True)
    for target in planned.targets:  # the media files had their line as they were written
        if target.path is not None:
            click.echo(f"-> {target.path}", err=True)
