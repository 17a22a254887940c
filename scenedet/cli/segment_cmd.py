"""``scenedet segment``: cut cached scores into scenes, without the model or the film.

Per-second scores (a scene's) are cut with the four segmentation settings; a saved detector
result is re-cut by its detector's ``resegment`` (``-O threshold=0.3``); a run document has each
of its results re-cut (:mod:`scenedet.segmentation.documents`). Imports no torch and no media
code: re-segmenting with new parameters answers in well under a second, so ``min_length`` and
``threshold`` can be tuned interactively on a film's saved scores.
"""

from __future__ import annotations


import click

from scenedet.cli import cli
from scenedet.cli.output import write_json
from scenedet.cli.params import OUTPUT_HELP, TIME


@cli.command("segment")
@click.argument("scores", metavar="SCORES", type=click.Path(allow_dash=True, dir_okay=False))
@click.option("--aggregator", metavar="NAME",
              help="Registered aggregator (segmentor); `scenedet plugins` lists them: 'runs' "
                   "(the core's), 'interval' (the paper's), 'algorithm1' (its slow reference).  "
                   "[default: runs]")
@click.option("--min-length", "-l", type=TIME,
              help="Shortest scene: a whole number of seconds (10, 15s, 00:01:30).  [default: 10]")
@click.option("--threshold", "-t", metavar="T",
              help="Smallest fraction of positive seconds in a scene, in (0, 1]: 0.7 or 2/3 "
                   "(compared exactly, no float rounding).  [default: 0.7]")
@click.option("--label-threshold", type=float, metavar="P",
              help="Probability at or above which a second is positive (ignored for 0/1 "
                   "labels).  [default: 0.5]")
@click.option("--option", "-O", "options", multiple=True, metavar="[NAME.]KEY=VALUE",
              help="A detector's option for the re-cut of its saved result (repeatable), e.g. "
                   "-O threshold=0.3 or, in a run document, -O shots.threshold=0.3.")
@click.option("--plugin", "-p", "plugin", metavar="NAME",
              help="In a run document: re-cut only this plugin's result and write it alone.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True, allow_dash=True),
              default="-", help="Write the JSON here instead of stdout. " + OUTPUT_HELP)
def segment_command(scores: str, aggregator: str | None, min_length: float | None,
                    threshold: str | None, label_threshold: float | None,
                    options: tuple[str, ...], plugin: str | None, output: str) -> None:
    """Cut per-second SCORES into scenes, or re-cut a saved result, and print JSON.

    \b
    SCORES is a file, or - for stdin, holding one value per second of film:
      * the JSON written by `scenedet run` for a scene (its "scores" are used);
      * a JSON list: [0.02, 0.91, 0.97, ...];
      * plain text, one number per line (line 1 is second 0).
    Integers (0/1) and true/false are labels. Numbers with a decimal point
    are probabilities in [0, 1]: a second is positive when its probability
    is >= --label-threshold, and each scene reports its mean probability.

    \b
    A scene is at least --min-length seconds long, starts and ends on a
    positive second, and holds at least --threshold positive seconds; of
    overlapping candidates the longer wins (docs/segmentors.md).
    An option left out takes the value the `scenedet run` output recorded
    in its "settings", else the default shown below.

    \b
    Output, on stdout or in --output (seconds; start inclusive, end exclusive):
      {"segments": [{"start": 1800, "end": 1921, "score": 0.93}, ...]}

    \b
    SCORES may also be a saved detector result or a run document:
      * a detector's result (scenedet run -p shots) is re-cut from its
        per-frame scores by the detector itself, with -O KEY=VALUE (shots:
        threshold, flash_confidence, min_shot; shots-content: threshold,
        window, min_shot); the output is the whole re-cut result;
      * a run document ({"results": [...]}, several plugins) has every
        result re-cut (-O NAME.KEY=VALUE for a detector, the options above
        for its scenes; a scene snapped to shots is snapped again) and is
        written back as a run document; --plugin NAME re-cuts and writes
        only that result.

    \b
    Examples:
      scenedet run --plugin kissing film.mp4 -o film.json
      scenedet segment film.json                        the run's scenes, instantly
      scenedet segment --min-length 15 --threshold 2/3 film.json
      printf '1\\n1\\n0\\n1\\n' | scenedet segment -l 3 -t 0.7 -
      scenedet segment --aggregator algorithm1 scores.txt -o scenes.json
      scenedet segment shots.json -O threshold=0.3 -o shots.recut.json
      scenedet segment run.json -O shots.min_shot=25 -l 15 -o run.recut.json
    """
    from scenedet.segmentation.scorefiles import read_text

    label, text = read_text(scores)
    given = {"aggregator": aggregator, "min_length": min_length, "threshold": threshold,
             "label_threshold": label_threshold}
    form, docs = _documents(label, text)
    if form is None:
        if options or plugin:
            raise click.UsageError(f"{'-O' if options else '--plugin'} re-cuts a saved result "
                                   f"document; {label} holds per-second scores: use --min-length, "
                                   "--threshold, --label-threshold and --aggregator")
        write_json({"segments": _cut_scores(label, text, scores, given)}, output)
        return
    write_json(_recut(label, form, docs, given, options, plugin), output)


def _cut_scores(label: str, text: str, scores: str, given: dict) -> list[dict]:
    """Per-second scores (a file of numbers, a JSON list or a scene's result) cut into scenes."""
    import io

    import attrs

    from scenedet.segmentation.scorefiles import load_scores_and_settings
    from scenedet.segmentation.segments import segment
    from scenedet.segmentation.settings import resolve_settings

    source = io.StringIO(text)
    source.name = label
    values, recorded = load_scores_and_settings(source)
    offset = int(recorded.pop("start", 0))  # a run on part of a film: keep film times
    where = f"{'<stdin>' if scores == '-' else scores}: settings"
    settings = resolve_settings(given, (recorded, where),
                                names={k: "--" + k.replace("_", "-") for k in given})
    return [attrs.evolve(s, start=s.start + offset, end=s.end + offset).to_dict()
            for s in segment(values, **settings)]


def _documents(label: str, text: str) -> tuple[str | None, list[dict]]:
    """The form and result documents of ``text`` when it is a detector's result, a run
    document or a list of results; ``(None, [])`` for per-second scores."""
    import json

    from scenedet.outputs.document import documents_in
    from scenedet.segmentation.documents import is_detector_document

    body = text.lstrip()
    if body[:1] not in ("{", "["):
        return None, []
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None, []  # the scores reader says where
    run = isinstance(data, dict) and isinstance(data.get("results"), list)
    results = isinstance(data, list) and bool(data) and all(isinstance(d, dict) for d in data)
    detector = isinstance(data, dict) and is_detector_document(data)
    if not (run or results or detector):
        return None, []
    return documents_in(data, source=label)


def _recut(label: str, form: str, docs: list[dict], given: dict, options: tuple[str, ...],
           plugin: str | None) -> dict:
    """The re-cut of a detector's result or of a run document (``--plugin``: of one result)."""
    from scenedet.cli.frames_cli import split_options
    from scenedet.outputs.document import RESULT
    from scenedet.outputs.several import run_document
    from scenedet.segmentation.documents import (is_detector_document, resegment_document,
                                                 resegment_documents)

    names = [str(d.get("scene", "")) for d in docs]
    scene_options = {k: v for k, v in given.items() if v is not None}
    if plugin is not None:
        if plugin not in names:
            plugin = _canonical(plugin, names)
        if plugin not in names:
            raise click.BadParameter(f"{plugin!r}: {label} holds results of "
                                     f"{', '.join(names)}", param_hint="--plugin")
        docs = [docs[names.index(plugin)]]
        names = [plugin]
        form = RESULT
    per_plugin = split_options(options, names)
    if scene_options:
        detectors = [n for n, d in zip(names, docs) if is_detector_document(d)]
        if len(detectors) == len(docs):
            flag = "--" + next(iter(scene_options)).replace("_", "-")
            raise click.UsageError(f"{flag} cuts a per-second scene; {label} holds detector "
                                   f"results ({', '.join(detectors)}): use -O KEY=VALUE")
        for name, doc in zip(names, docs):
            if not is_detector_document(doc):
                per_plugin[name] = {**scene_options, **per_plugin.get(name, {})}
    if form == RESULT:
        return resegment_document(docs[0], source=label, **per_plugin.get(names[0], {}))
    video = str(docs[0].get("video", ""))
    return run_document(video, resegment_documents(docs, source=label, settings=per_plugin))


def _canonical(name: str, names: list[str]) -> str:
    """A detector's alias (``content``) as the name its result records (``shots-content``)."""
    from scenedet.plugin.registry import get_detector_spec

    try:
        return get_detector_spec(name).name
    except Exception:
        return name
