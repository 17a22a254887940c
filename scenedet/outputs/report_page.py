"""One HTML report of several results of one film: one player, then a section per result.

``scenedet run -p shots -p cues film.mp4 --report film.html`` writes this page: the film once, in
the player (or the notice of :func:`~scenedet.outputs.report.browser_playable` for a film no
browser plays), kept in view while the sections scroll beside it; then, in the order the results
are given, a section each with its heading (the plugin's name), its timeline picture, its label
lanes and its list of segments with their thumbnails, exactly as the one-result page
(:func:`~scenedet.outputs.report.write_report`) draws them. Every row, lane bar and timeline of
every section seeks the one player; the page is as self-contained as the one-result page (same
CSS and script, everything inline).
"""

from __future__ import annotations

import html
import os
from collections.abc import Sequence
from pathlib import Path

import attrs

from scenedet import files
from scenedet.errors import UsageError
from scenedet.outputs.document import SceneList
from scenedet.outputs.report import (
    Playability,
    _pattern_note,
    _player,
    browser_playable,
    facts_of,
    render_page,
    render_table,
    render_timeline_html,
)

#: What the page of several results adds to the one-result page's CSS.
_COMBINED_CSS = """
main.combined{grid-template-columns:minmax(320px,1fr) minmax(420px,1.3fr)}
main.combined .film{position:sticky;top:0;align-self:start;padding-top:4px}
section.result{margin:0 0 24px}
section.result h2{font-size:16px;margin:0 0 2px;color:#264653}
section.result p.facts{margin:0 0 4px;color:#555;font-size:13px}
section.result .scenes{max-height:70vh;overflow:auto;margin-top:8px}
nav.results a{color:#fff;margin-right:12px}
"""


@attrs.frozen
class Pictures:
    """What a report shows of one result besides its list: the timeline PNG and its
    ``layout``, a JPEG ``thumbnails`` per scene index."""

    timeline_png: bytes
    layout: dict
    thumbnails: dict[int, bytes]


def draw_pictures(scenes: SceneList, *, label_threshold: float = 0.5, annotations=None,
                  thumbnails: bool = True) -> Pictures:
    """Render one result's timeline and grab a thumbnail per scene (from the middle of each,
    when the film is here)."""
    from scenedet.outputs.plot import render_timeline, scene_list_options
    from scenedet.outputs.stills import encode_image, grab_frames

    layout: dict = {}
    options = scene_list_options(scenes)
    options["title"] = ""  # the page's heading names the film
    labelled = any(s.label for s in scenes.scenes)
    png = render_timeline(label_threshold=label_threshold, annotations=annotations, lanes=False,
                          size=(10, 2.6), dpi=96, layout=layout,
                          min_left=0.1 if labelled else 0.0, **options)  # room for lane names
    thumbs: dict[int, bytes] = {}
    if thumbnails and scenes.scenes and Path(scenes.video).is_file():
        middles = [(s.start + s.end) / 2 for s in scenes.scenes]
        for s, rgb in zip(scenes.scenes, grab_frames(scenes.video, middles, width=160)):
            thumbs[s.index] = encode_image(rgb, "jpg", quality=80)
    return Pictures(png, layout, thumbs)


def render_combined_report(scene_lists: Sequence[SceneList], pictures: Sequence[Pictures | None],
                           page: str | os.PathLike[str], *,
                           playable: Playability | None = None) -> str:
    """The page's HTML: one player of the film (the first result's ``video``; ``page`` is where
    the page goes, for the player's relative source), then a section per result, in order, with
    its ``pictures`` (None: no timeline, no thumbnails)."""
    from scenedet.outputs.plot import label_colours

    esc = html.escape
    first = scene_lists[0]
    can_play = playable is None or playable.playable
    sections = []
    for i, (scenes, drawn) in enumerate(zip(scene_lists, pictures)):
        colours = label_colours(s.label for s in scenes.scenes)
        timeline = render_timeline_html(scenes, colours, drawn and drawn.timeline_png,
                                        drawn and drawn.layout, can_play)
        table = render_table(scenes, colours, drawn.thumbnails if drawn else {})
        sections.append(
            f'<section class="result" id="result-{i + 1}" data-scene="{esc(scenes.scene)}">'
            f"<h2>{esc(scenes.title)}</h2><p class=\"facts\">{facts_of(scenes, colours)}</p>"
            f'{_pattern_note(scenes)}{timeline}<div class="scenes">{table}</div></section>')
    names = [s.scene for s in scene_lists]
    nav = " ".join(f'<a href="#result-{i + 1}">{esc(n)}</a>' for i, n in enumerate(names))
    header = (f"<p>{len(scene_lists)} results of one run: {esc(', '.join(names))}</p>"
              f'<nav class="results">{nav}</nav>')
    main = (f'<div class="film">{_player(first, page, playable)}</div>\n'
            f'<div class="results">{"".join(sections)}</div>')
    meta = {"video": first.video,
            "results": [{"scene": s.scene, "settings": s.settings} for s in scene_lists]}
    return render_page(f"{esc(first.name)}: {esc(', '.join(names))}", header, main, meta=meta,
                       can_play=can_play, main_class="combined", css=_COMBINED_CSS)


def write_combined_report(scene_lists: Sequence[SceneList], path: str | os.PathLike[str], *,
                          label_threshold: float | None = None, annotations=None,
                          thumbnails: bool = True) -> Path:
    """Write ONE report of several results of one film to ``path``: one player, a section per
    result in the order given (its timeline, label lanes and list with thumbnails), atomically.

    ``label_threshold``: where each timeline draws its threshold (None: each result's own
    ``settings["label_threshold"]``, else 0.5); ``annotations``: the film's annotated spans,
    drawn on every timeline. Results of different films, or none, are a
    :class:`~scenedet.errors.UsageError` (one page has one player).
    """
    scene_lists = list(scene_lists)
    if not scene_lists:
        raise UsageError(f"{path}: no result to report")
    films = {os.path.abspath(s.video) for s in scene_lists}
    if len(films) > 1:
        raise UsageError(f"{path}: one report holds the results of one film, not of "
                         f"{len(films)} ({', '.join(sorted(s.name for s in scene_lists))})")
    pictures = []
    for scenes in scene_lists:
        threshold = label_threshold if label_threshold is not None else float(
            scenes.settings.get("label_threshold", 0.5) or 0.5)
        pictures.append(draw_pictures(scenes, label_threshold=threshold,
                                      annotations=annotations, thumbnails=thumbnails))
    video = scene_lists[0].video
    playable = browser_playable(video) if Path(video).is_file() else None
    return files.write_text(path, render_combined_report(scene_lists, pictures, path,
                                                         playable=playable))


__all__ = ["Pictures", "draw_pictures", "render_combined_report", "write_combined_report"]
