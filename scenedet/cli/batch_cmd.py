"""``scenedet batch``: a whole film library, resumable, on local workers or a Ray cluster."""

from __future__ import annotations

from pathlib import Path

import click

from scenedet.cli import cli
from scenedet.cli.params import (SPEEDUP_HELP, TIME, decode_workers_option, precision_option,
                                  runtime_option)


@cli.command("batch")
@click.option("--plugin", "-p", "plugins", required=True, multiple=True, metavar="NAME",
              help="Scene or frame-level detector to run over every film, as registered by a "
                   "plugin (see `scenedet plugins`); repeat to run several over one decode.")
@click.argument("library", nargs=-1, required=True, metavar="LIBRARY...")
@click.option("-o", "--output", "outdir", required=True, metavar="OUTDIR",
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the results (one NAME.json per film, plus the outputs asked for) "
                   "and summary.jsonl.")
@click.option("--model", "-m", type=click.Path(path_type=Path), metavar="PATH",
              help="Model file (default: the scene's installed model).")
@click.option("--jobs", "-j", type=click.IntRange(min=1), metavar="N",
              help="Workers, each loading the models once (local default 1; Ray default: one per "
                   "GPU on a GPU run, else one per CPU).")
@click.option("--threads", type=click.IntRange(min=1), metavar="N",
              help="CPU threads per worker (local default: cores / jobs; Ray: 1, or 2 with a GPU).")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Where the workers run: processes here, or Ray actors (pip install 'scenedet[ray]').")
@click.option("--ray-address", metavar="ADDR",
              help="An existing Ray cluster (auto, HOST:PORT, ray://HOST:PORT); default: start a "
                   "local Ray for this batch.")
@click.option("--gpus-per-worker", type=click.FloatRange(min=0, max=1, min_open=True), default=1.0,
              show_default=True, metavar="F",
              help="Ray, GPU run: GPU share per actor; 0.25 runs 4 actors (4 films decoding) per GPU.")
@click.option("--device", default="cpu", show_default=True, help="cpu, cuda, cuda:N or auto.")
@click.option("--batch-size", type=click.IntRange(min=1),
              help="Seconds per model batch (default: 16 on the cpu, 64 on cuda).")
@decode_workers_option
@precision_option(batch=True)
@runtime_option
@click.option("--speedup", type=click.Choice(["none", "int8", "compile"]), default="none",
              show_default=True, help=SPEEDUP_HELP + " Changing it scores finished films again.")
@click.option("--gpu-preprocess", is_flag=True,
              help="Resize, crop and normalise the stills on the --device rather than on the "
                   "decoding threads (see docs/performance.md, GPU path).")
@click.option("--profile", is_flag=True,
              help="Time each film's stages (decode, preprocessing, each model...): each film's "
                   "profile goes in its summary.jsonl line, and the sum over the films is printed "
                   "to stderr at the end; also SCENEDET_PROFILE=1.")
@click.option("--aggregator", metavar="NAME", help="Segmentor (default: the scene's).")
@click.option("--min-length", "-l", type=TIME, metavar="TIME", help="Shortest scene, whole seconds (default: the scene's).")
@click.option("--threshold", "-t", metavar="T", help="Least fraction of positive seconds in a scene, in (0, 1].")
@click.option("--label-threshold", type=float, metavar="P", help="Probability from which a second counts as positive.")
@click.option("--weights", "weights", multiple=True, metavar="NAME=PATH",
              help="Backbone weight file for offline use (repeatable), as for `scenedet run`.")
@click.option("--format", "formats", multiple=True, metavar="SUFFIX",
              help="Also write each film's scenes as OUTDIR/NAME.SUFFIX, in the format the suffix "
                   "names: .csv .edl .otio .fcpxml .xml .vtt (and any a plugin adds, see `scenedet plugins`). "
                   "Repeatable.")
@click.option("--clips", is_flag=True,
              help="Each scene of each film as its own file in OUTDIR/NAME.clips/ (stream copy, "
                   "as `scenedet run --clips`).")
@click.option("--clips-exact", is_flag=True, help="With --clips: re-encode (H.264) for frame-exact cuts.")
@click.option("--stills", is_flag=True, help="Thumbnails of each scene in OUTDIR/NAME.stills/ (JPEG).")
@click.option("--stills-per-scene", type=click.IntRange(min=1), default=3, show_default=True,
              metavar="N", help="Thumbnails per scene.")
@click.option("--plot", is_flag=True, help="Timeline plot per film: OUTDIR/NAME.png.")
@click.option("--report", is_flag=True,
              help="Self-contained HTML page per film: OUTDIR/NAME.html (player, timeline, scenes).")
@click.option("--option", "-O", "options", multiple=True, metavar="[NAME.]KEY=VALUE",
              help="Option of a detector, as for `scenedet run` (repeatable; `scenedet plugins "
                   "NAME` lists them).")
@click.option("--snap-to", metavar="DETECTOR",
              help="Move each scene's bounds to the nearest cut of this shot detector.")
@click.option("--snap-tolerance", default="2", show_default=True, type=TIME, metavar="TIME",
              help="With --snap-to: farthest a boundary moves.")
@click.option("--dry-run", "-n", is_flag=True, help="List what would be done and what is already done; run nothing.")
@click.option("--quiet", "-q", is_flag=True, help="No progress and no summary (errors still print).")
def batch_command(plugins: tuple[str, ...], library: tuple[str, ...], outdir: Path,
                  **opts: object) -> None:
    """Run scenes and detectors over every film of LIBRARY, resumably.

    LIBRARY is films, folders (searched recursively for video suffixes), globs
    ("films/**/*.mkv"), or a text file of paths (.txt/.list, one per line; - reads one from
    stdin). Each film's result goes to OUTDIR/STEM-HASH.json, the JSON of `scenedet run` plus a
    "batch" block (film fingerprint, model hash, settings); HASH keeps films of one name in
    different folders apart. With several plugins (-p kissing -p shots) the result holds each
    one's and every other output is written per plugin (OUTDIR/NAME.shots.edl). OUTDIR/summary.jsonl gets one line per film finished (path, hash,
    status, seconds, scenes, wall time, error; the last line per film counts).

    \b
    Other outputs per film, written by the same code as `scenedet run`'s:
      --format .csv --format .edl   OUTDIR/NAME.csv, OUTDIR/NAME.edl (any export suffix)
      --clips [--clips-exact]       OUTDIR/NAME.clips/
      --stills                      OUTDIR/NAME.stills/
      --plot, --report              OUTDIR/NAME.png, OUTDIR/NAME.html
    A film is done only when all of them exist; ask for one more and a rerun writes it from
    each film's saved result, without scoring the films again.

    \b
    Rerun the same command at any time, after a crash or kill -9 too: films whose result is
    complete and made from the same film, model and settings are skipped; the rest are redone.
    A film that fails is recorded and the others go on. --precision and --speedup change the
    scores, so changing them scores finished films again (said in one line before it starts);
    --device, --batch-size, --decode-workers, --gpu-preprocess and --profile do not.

    \b
    Examples:
      scenedet batch -p kissing /films -o results --jobs 2
      scenedet batch -p kissing /films -o results --dry-run
      scenedet batch -p kissing /films -o results --format .csv --format .edl --plot
      scenedet batch -p kissing /films -o results --device cuda --precision auto --profile
      scenedet batch -p shots -p cues /films -o results --format .edl   no model needed
      find /films -name '*.mkv' | scenedet batch -p kissing - -o results
      scenedet batch -p kissing /shared/films -o /shared/results \\
          --executor ray --ray-address auto --device cuda

    Films whose decode skipped damaged packets are listed at the end ("damaged: ...") and in
    their summary line ("damage"). Exit codes: 0 every film done (or already done), 1 a film
    failed (see summary.jsonl),
    2 bad usage, 130 interrupted (Ctrl-C), 143 terminated (SIGTERM); rerun to resume.
    """
    from scenedet.batch import plan_batch, run_batch
    from scenedet.batch.driver import BatchInterrupted

    o = opts
    if o["ray_address"] and o["executor"] != "ray":
        raise click.BadParameter("needs --executor ray", param_hint="--ray-address")
    if o["gpus_per_worker"] != 1.0 and o["executor"] != "ray":
        raise click.BadParameter("needs --executor ray (local workers share the device as they "
                                 "are: use --jobs)", param_hint="--gpus-per-worker")
    outputs = _outputs(o)
    settings = _settings(plugins, o)
    plan = plan_batch(library, outdir, settings, outputs=outputs)
    note = plan.settings_note()
    if note is not None and not o["quiet"]:
        click.echo(note, err=True)
    if o["dry_run"]:
        _print_plan(plan)
        return
    runner = _executor(settings, o["executor"], o["jobs"], o["threads"], o["ray_address"],
                       o["gpus_per_worker"])
    if not o["quiet"]:
        click.echo(f"{len(plan.todo)} film(s) to do, {len(plan.done)} already done; "
                   f"{runner.describe()}", err=True)
    try:
        report = run_batch(plan, runner, progress="off" if o["quiet"] else "auto")
    except BatchInterrupted as exc:
        click.echo(f"Interrupted: {exc.done} film(s) finished this run, {exc.left} left; "
                   f"rerun the same command to resume.", err=True)
        click.get_current_context().exit(exc.exit_code)
        return
    _say_report(report, bool(o["quiet"]))


def _outputs(o: dict):
    """The per-film outputs asked for, checked (an unknown suffix: exit 2 before any film)."""
    from scenedet.batch import BatchOutputs

    if o["clips_exact"] and not o["clips"]:
        raise click.BadParameter("needs --clips", param_hint="--clips-exact")
    outputs = BatchOutputs(formats=o["formats"], clips=o["clips"], clips_exact=o["clips_exact"],
                           stills=o["stills"], stills_per_scene=o["stills_per_scene"],
                           plot=o["plot"], report=o["report"])
    outputs.check()
    return outputs


def _settings(plugins: tuple[str, ...], o: dict):
    """The batch's settings, checked before any film (the same engine settings as `run`)."""
    from scenedet import profiling
    from scenedet.batch import prepare_settings
    from scenedet.cli.settings import in_flags, settings_from_options
    from scenedet.errors import SettingError

    settings = settings_from_options(plugins, o, profile=bool(o["profile"])
                                     or profiling.env_enabled())
    try:
        return prepare_settings(plugins, settings=settings)
    except SettingError as exc:
        raise in_flags(exc) from None


def _say_report(report, quiet: bool) -> None:
    """The batch's last lines: totals, the profile, damaged films, failed films (exit 1)."""
    from scenedet.batch.profiles import profile_report

    if not quiet:
        click.echo(f"{report.done} done, {report.skipped} already done, {len(report.failed)} failed "
                   f"({report.film_seconds} film-s in {report.wall:.1f} s) -> {report.summary}",
                   err=True)
    if report.profile is not None:
        click.echo(profile_report(report.profile), err=True)
    for outcome in report.damaged:
        click.echo(f"damaged: {outcome.damage}", err=True)
    for outcome in report.failed:
        click.echo(f"failed: {outcome.path}: {outcome.error}", err=True)
    if report.failed:
        click.get_current_context().exit(1)


def _executor(settings, kind: str, jobs: int | None, threads: int | None, address: str | None,
              gpus_per_worker: float):
    if kind == "ray":
        from scenedet.batch.ray_executor import RayExecutor, import_ray

        import_ray()  # a one-line error now if Ray is missing
        return RayExecutor(settings, jobs=jobs, threads=threads, address=address,
                           gpus_per_actor=gpus_per_worker)
    from scenedet.batch.local import LocalExecutor

    return LocalExecutor(settings, jobs=jobs or 1, threads=threads)


def _print_plan(plan) -> None:
    from scenedet.batch.jobs import result_path

    for item in plan.films:
        out = result_path(plan.outdir, item.film.name)
        if item.todo:
            click.echo(f"todo  {item.film.path} -> {out}  ({item.status})")
        else:
            click.echo(f"done  {item.film.path} -> {out}")
    click.echo(f"{len(plan.todo)} film(s) to do, {len(plan.done)} already done "
               f"(of {len(plan.films)}); nothing was run.", err=True)
