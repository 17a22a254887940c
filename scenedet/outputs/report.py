"""One self-contained HTML page per run: the film in a player, the timeline, the scene list.

Everything is inline (CSS, JS, the timeline PNG and the thumbnails as ``data:`` URIs): the page
makes no network request and can be mailed or archived with the film. The player's source is the
film's path relative to the page (so page and film can move together), or a ``file:`` URI when no
relative path exists. Clicking a scene seeks the player to its start and plays it; playback
pauses at the scene's end. Clicking the timeline plays from the time clicked. The row of the scene
under the playhead is highlighted.

Every kind of result gets the same page. The timeline draws the per-second probability when the
result has one (a scene's), else the segments' own scores (a detector's: the confidence of each
cut). Labelled segments (a cue detector's ``black``, ``silence``, ``bars``, which may overlap)
get label lanes under the timeline, one per label, aligned with its time axis, coloured as the
plot colours them (:func:`~scenedet.outputs.plot.label_colours`), with a legend; a click on a bar
plays it. Lengths read as people read them (``0.4 s``: :func:`~scenedet.timefmt.format_length`).

A film no browser plays (:func:`browser_playable`: MPEG-4 Part 2 in AVI, HEVC, an MKV of other
codecs) gets a notice saying so, and why, in place of a player that would stay black; the
thumbnails, the timeline and the list are there as for any film.
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path
from urllib.parse import quote

import attrs

from scenedet import files
from scenedet.outputs.document import SceneList
from scenedet.timefmt import format_length

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f7f7f5;color:#222}
header{padding:12px 20px;background:#264653;color:#fff}
header h1{font-size:18px;margin:0}header p{margin:2px 0 0;opacity:.85}
section.scenes{max-height:85vh;overflow:auto}
main{display:grid;grid-template-columns:minmax(320px,1fr) minmax(360px,1fr);gap:16px;padding:16px 20px}
video{width:100%;max-height:60vh;background:#000;border-radius:4px}
.unplayable{padding:14px 16px;border:1px solid #e0b04c;border-left:6px solid #e0a020;background:#fff8e6;border-radius:4px}
.unplayable strong{display:block;font-size:15px;margin-bottom:4px}
.unplayable code{font-size:12px;background:#fff;padding:1px 4px;border-radius:2px}
.timeline img{width:100%;box-sizing:border-box;display:block;margin-top:8px;border:1px solid #ddd;background:#fff}
body.playable .timeline img{cursor:crosshair}
.lanes{position:relative;background:#fff;border:1px solid #ddd;border-top:0;padding:4px 0 2px}
.lane{position:relative;height:18px;margin:2px 0}
.lane .name{position:absolute;left:0;width:var(--x0);box-sizing:border-box;padding-right:6px;
  text-align:right;font-size:11px;line-height:18px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.lane .track{position:absolute;left:var(--x0);width:var(--w);top:0;bottom:0;background:#f1f1ee}
.lane .seg{position:absolute;top:2px;bottom:2px;min-width:2px;border-radius:2px;opacity:.85}
body.playable .lane .seg{cursor:pointer}
.lane .seg.current{outline:2px solid #264653;opacity:1}
ul.legend{list-style:none;margin:6px 0 0;padding:0;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px}
.swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{padding:6px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:middle}
body.playable tr.scene{cursor:pointer}tr.scene:hover{background:#eef6f5}tr.scene.current{background:#cfe9e5}
td.thumb img{height:54px;display:block;border-radius:2px}
.mono{font-family:ui-monospace,'SFMono-Regular',Menlo,monospace;font-size:12px}
.empty{padding:20px;color:#666}
p.note{margin:4px 0 0;color:#8a5a00;font-size:12px}
"""

_JS = """
(function(){
  var video=document.getElementById('player');
  var rows=Array.prototype.slice.call(document.querySelectorAll('tr.scene'));
  var bars=Array.prototype.slice.call(document.querySelectorAll('.lane .seg'));
  if(!video){return;}  /* a film the browser cannot play: no player, nothing to seek */
  var stopAt=null;
  function play(el){
    var start=parseFloat(el.dataset.start), end=parseFloat(el.dataset.end);
    stopAt=end;
    video.currentTime=start;
    var p=video.play();
    if(p&&p.catch){p.catch(function(){});}
  }
  rows.concat(bars).forEach(function(el){
    el.addEventListener('click',function(){play(el);});
    el.addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' '){e.preventDefault();play(el);}});
  });
  /* every timeline (a page of several results has one per section) seeks the one player */
  Array.prototype.forEach.call(document.querySelectorAll('.timeline img'),function(timeline){
    if(!timeline.dataset.x1){return;}
    timeline.addEventListener('click',function(e){
      var d=timeline.dataset, r=timeline.getBoundingClientRect();
      var u=((e.clientX-r.left)/r.width-parseFloat(d.x0))/(parseFloat(d.x1)-parseFloat(d.x0));
      if(u<0||u>1){return;}
      stopAt=null;
      video.currentTime=parseFloat(d.t0)+u*(parseFloat(d.t1)-parseFloat(d.t0));
      var p=video.play();
      if(p&&p.catch){p.catch(function(){});}
    });
  });
  video.addEventListener('timeupdate',function(){
    var t=video.currentTime;
    if(stopAt!==null&&t>=stopAt){video.pause();stopAt=null;}
    rows.concat(bars).forEach(function(el){
      var on=t>=parseFloat(el.dataset.start)&&t<parseFloat(el.dataset.end);
      el.classList.toggle('current',on);
    });
  });
})();
"""

#: Containers a browser's ``<video>`` opens (FFmpeg's names): MP4/MOV, Matroska/WebM, Ogg.
BROWSER_CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2": "MP4", "matroska,webm": "WebM/Matroska",
                      "ogg": "Ogg"}
#: Video codecs every current browser decodes (FFmpeg's canonical names).
BROWSER_VIDEO = {"h264": "H.264", "vp8": "VP8", "vp9": "VP9", "av1": "AV1"}
#: Audio codecs they decode; another one leaves a film playable, maybe silent.
BROWSER_AUDIO = frozenset({"aac", "mp3", "opus", "vorbis", "flac"})

_CONTAINER_NAMES = {**BROWSER_CONTAINERS, "avi": "AVI", "mpegts": "MPEG-TS", "flv": "FLV",
                    "asf": "ASF (WMV)", "mpeg": "MPEG-PS"}
_VIDEO_NAMES = {**BROWSER_VIDEO, "hevc": "HEVC (H.265)", "mpeg4": "MPEG-4 Part 2",
                "mpeg2video": "MPEG-2", "mjpeg": "Motion JPEG"}


@attrs.frozen
class Playability:
    """Whether a browser's ``<video>`` can play a film, and in words why not (``reason``).

    ``container``/``video``/``audio`` are FFmpeg's names (``"avi"``, ``"mpeg4"``, ``"aac"``);
    ``note`` says what may still go wrong in a playable film (sound in a codec browsers lack).
    """

    playable: bool
    container: str = ""
    video: str = ""
    audio: str | None = None
    reason: str = ""
    note: str = ""


def browser_playable(path: str | os.PathLike[str]) -> Playability:
    """Can a web browser play the film at ``path``? Judged from its container and codecs (PyAV;
    nothing is decoded): H.264, VP8, VP9 or AV1 video in MP4, WebM/Matroska or Ogg plays (in
    Chromium and Firefox; Safari is pickier about Matroska and Ogg); anything else (MPEG-4 Part
    2 or MJPEG video, an AVI, MPEG-TS or FLV file, HEVC, which few browsers decode) does not:
    ``tests/test_report_browser.py`` checks the verdicts against Debian's chromium. A file that
    cannot be read at all is left to the browser (``playable``, no reason): the report then
    shows its player, as it always did."""
    from scenedet.errors import MediaError
    from scenedet.media.probe import check_path, film_audio_stream, film_video_stream, open_input

    try:
        with open_input(check_path(path)) as container:
            fmt = container.format.name
            fmt_long = container.format.long_name or fmt
            video = film_video_stream(container)
            audio = film_audio_stream(container)
            vcodec = _codec(video) if video is not None else ""
            vlong = (video.codec_context.codec.long_name or vcodec) if video is not None else ""
            acodec = _codec(audio) if audio is not None else None
        suffix = Path(path).suffix.lower().lstrip(".")
        fmt_long = ({"mkv": "Matroska", "webm": "WebM", "mov": "MOV"}.get(suffix)
                    if fmt in BROWSER_CONTAINERS else None) or _CONTAINER_NAMES.get(fmt, fmt_long)
        vlong = _VIDEO_NAMES.get(vcodec, vlong)
    except MediaError:
        return Playability(True)
    name = Path(path).name
    if fmt not in BROWSER_CONTAINERS or vcodec not in BROWSER_VIDEO:
        what = f"{vlong} video in {fmt_long}" if vcodec else fmt_long
        reason = (f"{name} is {what}: browsers play H.264, VP8, VP9 or AV1 video in MP4, WebM "
                  "(Matroska) or Ogg files.")
        return Playability(False, fmt, vcodec, acodec, reason)
    note = ""
    if acodec is not None and acodec not in BROWSER_AUDIO:
        note = f"Its sound ({acodec}) is in a codec browsers may not play: it may play silent."
    return Playability(True, fmt, vcodec, acodec, "", note)


def _codec(stream) -> str:
    codec = stream.codec_context.codec
    return str(getattr(codec, "canonical_name", "") or codec.name)


def _clock(seconds: float) -> str:
    ms = int(round(seconds * 1000))
    return f"{ms // 3_600_000}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def video_src(video: str | os.PathLike[str], page: str | os.PathLike[str]) -> str:
    """The film's URL as seen from ``page``: relative where possible, else ``file:``."""
    film = Path(video).resolve()
    folder = Path(page).resolve().parent
    try:
        rel = os.path.relpath(film, folder)
    except ValueError:  # another drive (Windows)
        return film.as_uri()
    return quote(Path(rel).as_posix())


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _lanes(scenes: SceneList, colours: dict[str, str], layout: dict | None) -> str:
    """The label lanes (one per label, first appearance first) and their legend, as HTML: the
    tracks span the timeline picture's time axis (``layout``), so a bar sits under its time."""
    from scenedet.outputs.plot import lanes_of

    esc = html.escape
    labelled = [s for s in scenes.scenes if s.label]
    if not labelled:
        return ""
    by_label = lanes_of([(s.start, s.end) for s in labelled], [s.label for s in labelled])
    layout = layout or {}
    t0 = float(layout.get("t0", scenes.start or 0))
    t1 = float(layout.get("t1", max(scenes.duration, max(s.end for s in labelled))))
    x0, x1 = float(layout.get("x0", 0.12)), float(layout.get("x1", 1.0))
    span = max(t1 - t0, 1e-9)

    def pct(t: float) -> float:
        return 100.0 * min(max((t - t0) / span, 0.0), 1.0)

    lanes = []
    for label in by_label:
        colour = colours[label]
        bars = []
        for s in (s for s in labelled if s.label == label):
            left = pct(s.start)
            width = pct(s.end) - left
            bars.append(
                f'<span class="seg" tabindex="0" data-index="{s.index}" data-start="{s.start:.3f}"'
                f' data-end="{s.end:.3f}" style="left:{left:.3f}%;width:{width:.3f}%;'
                f'background:{colour}" title="{esc(label)} {s.index}: {_clock(s.start)} - '
                f'{_clock(s.end)} ({format_length(s.duration)})"></span>')
        lanes.append(f'<div class="lane" data-label="{esc(label)}"><span class="name" '
                     f'title="{esc(label)}">{esc(label)}</span><div class="track">'
                     f'{"".join(bars)}</div></div>')
    legend = "".join(f'<li data-label="{esc(k)}"><span class="swatch" style="background:'
                     f'{colours[k]}"></span>{esc(k)} ({len(v)})</li>' for k, v in by_label.items())
    return (f'<div class="lanes" style="--x0:{100 * x0:.3f}%;--w:{100 * (x1 - x0):.3f}%">'
            f'{"".join(lanes)}</div><ul class="legend" aria-label="labels">{legend}</ul>')


def _pattern_note(scenes) -> str:
    """A banner when the model is a test pattern (seeded random backbones), else nothing."""
    if not scenes.test_pattern:
        return ""
    note = (scenes.provenance or {}).get("note", "random backbones")
    return (f'<p class="notice test-pattern">Test pattern: {html.escape(note)}. These scenes '
            "show that the pipeline runs; they do not find anything in the film.</p>")


def _player(scenes: SceneList, page: str | os.PathLike[str], playable: Playability | None) -> str:
    esc = html.escape
    if playable is None or playable.playable:
        note = (f'<p class="note">{esc(playable.note)}</p>' if playable and playable.note else "")
        return (f'<video id="player" controls preload="metadata" '
                f'src="{esc(video_src(scenes.video, page))}"></video>{note}')
    mp4 = Path(scenes.name).with_suffix(".mp4").name
    return (f'<div class="unplayable" id="unplayable" role="note"><strong>This film cannot be '
            f'played in a web browser.</strong>{esc(playable.reason)} The stills, the timeline '
            f'and the list are from the film all the same; to watch a scene, open the film in a '
            f'player (VLC, mpv) at its start time, or make a copy browsers play: '
            f'<code>ffmpeg -i {esc(scenes.name)} -c:v libx264 -c:a aac {esc(mp4)}</code>.</div>')


def render_report(scenes: SceneList, page: str | os.PathLike[str], *,
                  timeline_png: bytes | None = None, timeline_layout: dict | None = None,
                  thumbnails: dict[int, bytes] | None = None,
                  playable: Playability | None = None) -> str:
    """The page's HTML. ``thumbnails`` maps a scene index to JPEG bytes; ``timeline_layout``
    (from :func:`~scenedet.outputs.plot.render_timeline`) makes a click on the timeline seek and
    lines the label lanes up with it; ``playable`` (:func:`browser_playable`; None: assumed
    playable) puts a notice in place of the player for a film no browser plays. A page of
    several results: :func:`scenedet.outputs.report_page.render_combined_report`."""
    from scenedet.outputs.plot import label_colours

    esc = html.escape
    colours = label_colours(s.label for s in scenes.scenes)
    can_play = playable is None or playable.playable
    timeline = render_timeline_html(scenes, colours, timeline_png, timeline_layout, can_play)
    meta = {"video": scenes.video, "scene": scenes.scene, "settings": scenes.settings}
    heading = f"{esc(scenes.name)}: {esc(scenes.title)} scenes"
    main = (f"<section>{_player(scenes, page, playable)}\n{timeline}</section>\n"
            f'<section class="scenes">{render_table(scenes, colours, thumbnails or {})}</section>')
    return render_page(heading, f"<p>{facts_of(scenes, colours)}</p>{_pattern_note(scenes)}",
                       main, meta=meta, can_play=can_play)


def render_page(heading: str, header: str, main: str, *, meta: object, can_play: bool,
                main_class: str = "", css: str = "") -> str:
    """The page around its parts (HTML already escaped): the ``<h1>`` ``heading``, the rest of
    the ``header``, the ``main`` content; the CSS and the script every report shares (``css``
    adds to it); ``meta``, as JSON, in the body's ``data-run``."""
    klass = f' class="{main_class}"' if main_class else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{heading}</title>
<style>{_CSS}{css}</style></head>
<body class="{'playable' if can_play else 'no-player'}" data-run="{html.escape(json.dumps(meta))}">
<header><h1>{heading}</h1>{header}</header>
<main{klass}>
{main}
</main>
<script>{_JS}</script>
</body></html>
"""


def render_table(scenes: SceneList, colours: dict[str, str], thumbnails: dict[int, bytes]) -> str:
    """The list of one result's scenes (segments) as a table, a thumbnail each: a ``label``
    column when any is labelled (``colours``: :func:`~scenedet.outputs.plot.label_colours`)."""
    esc = html.escape
    labelled = bool(colours)
    rows = []
    for s in scenes.scenes:
        thumb = thumbnails.get(s.index)
        img = f'<img alt="scene {s.index}" src="{data_uri(thumb, "image/jpeg")}">' if thumb else ""
        score = "" if s.score is None else f"{s.score:.2f}"
        label = (f'<td class="label">{_swatch(colours[s.label])}{esc(s.label)}</td>' if s.label
                 else "<td></td>") if labelled else ""
        frames = s.end_frame - s.start_frame
        rows.append(
            f'<tr class="scene" tabindex="0" data-index="{s.index}" data-start="{s.start:.3f}" '
            f'data-end="{s.end:.3f}"{_data_label(s.label)}><td>{s.index}</td>'
            f'<td class="thumb">{img}</td>{label}'
            f'<td>{_clock(s.start)}<br><span class="mono">{esc(s.start_timecode)}</span></td>'
            f'<td>{_clock(s.end)}<br><span class="mono">{esc(s.end_timecode)}</span></td>'
            f'<td class="length" title="{frames} frame{"" if frames == 1 else "s"}">'
            f'{format_length(s.duration)}</td><td>{score}</td></tr>')
    head = "<th>label</th>" if labelled else ""
    return (f'<table><thead><tr><th>#</th><th></th>{head}<th>start</th><th>end</th>'
            f'<th>length</th><th>score</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
            if rows else f'<p class="empty">No {esc(scenes.scene)} scene found.</p>')


def render_timeline_html(scenes: SceneList, colours: dict[str, str], png: bytes | None,
                         layout: dict | None, can_play: bool) -> str:
    """One result's timeline picture (its layout in ``data-*``, for the click that seeks) and
    its label lanes, in a ``div.timeline``."""
    where = "".join(f' data-{k}="{v:.6f}"' for k, v in (layout or {}).items())
    hint = ' title="click to play from there"' if can_play else ""
    timeline = (f'<img alt="timeline"{hint}{where} src="{data_uri(png, "image/png")}">'
                if png else "")
    lanes = _lanes(scenes, colours, layout) if colours else ""
    return f'<div class="timeline">{timeline}{lanes}</div>'


def facts_of(scenes: SceneList, colours: dict[str, str]) -> str:
    """One line on a result: how many scenes (per label), over how long, at which frame rate."""
    esc = html.escape
    rate = scenes.frame_rate
    counts = ""
    if colours:
        tally = {k: sum(1 for s in scenes.scenes if s.label == k) for k in colours}
        counts = " (" + ", ".join(f"{n} {esc(k)}" for k, n in tally.items()) + ")"
    return (f"{len(scenes.scenes)} {esc(scenes.scene)} scene(s){counts} in "
            f"{_clock(scenes.duration)} · "
            f"{float(rate.value):.3f} fps{' drop-frame' if rate.drop_frame else ''}"
            f"{' (variable)' if rate.variable else ''}")


def _swatch(colour: str) -> str:
    return f'<span class="swatch" style="background:{colour}"></span>'


def _data_label(label: str) -> str:
    return f' data-label="{html.escape(label)}"' if label else ""


def write_report(scenes: SceneList, path: str | os.PathLike[str], *, label_threshold: float = 0.5,
                 annotations=None, thumbnails: bool = True) -> Path:
    """Render the timeline and one thumbnail per scene, judge whether a browser plays the film,
    and write the page to ``path``. Several results on one page:
    :func:`scenedet.outputs.report_page.write_combined_report`."""
    from scenedet.outputs.report_page import draw_pictures

    drawn = draw_pictures(scenes, label_threshold=label_threshold, annotations=annotations,
                          thumbnails=thumbnails)
    playable = browser_playable(scenes.video) if Path(scenes.video).is_file() else None
    return files.write_text(path, render_report(scenes, path, timeline_png=drawn.timeline_png,
                                                timeline_layout=drawn.layout,
                                                thumbnails=drawn.thumbnails, playable=playable))
