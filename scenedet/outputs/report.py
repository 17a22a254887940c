"""One self-contained HTML page per run: the film in a player, the timeline, the scene list.

Everything is inline (CSS, JS, the timeline PNG and the thumbnails as ``data:`` URIs): the page
makes no network request and can be mailed or archived with the film. The player's source is the
film's path relative to the page (so page and film can move together), or a ``file:`` URI when no
relative path exists. Clicking a scene seeks the player to its start and plays it; playback
pauses at the scene's end. Clicking the timeline plays from the time clicked. The row of the scene
under the playhead is highlighted.
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path
from urllib.parse import quote

from scenedet import files
from scenedet.outputs.document import SceneList

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f7f7f5;color:#222}
header{padding:12px 20px;background:#264653;color:#fff}
header h1{font-size:18px;margin:0}header p{margin:2px 0 0;opacity:.85}
section.scenes{max-height:85vh;overflow:auto}
main{display:grid;grid-template-columns:minmax(320px,1fr) minmax(360px,1fr);gap:16px;padding:16px 20px}
video{width:100%;max-height:60vh;background:#000;border-radius:4px}
.timeline img{width:100%;display:block;cursor:crosshair;margin-top:8px;border:1px solid #ddd;background:#fff}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{padding:6px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:middle}
tr.scene{cursor:pointer}tr.scene:hover{background:#eef6f5}tr.scene.current{background:#cfe9e5}
td.thumb img{height:54px;display:block;border-radius:2px}
.mono{font-family:ui-monospace,'SFMono-Regular',Menlo,monospace;font-size:12px}
.empty{padding:20px;color:#666}
"""

_JS = """
(function(){
  var video=document.getElementById('player');
  var rows=Array.prototype.slice.call(document.querySelectorAll('tr.scene'));
  var stopAt=null;
  function play(row){
    var start=parseFloat(row.dataset.start), end=parseFloat(row.dataset.end);
    stopAt=end;
    video.currentTime=start;
    var p=video.play();
    if(p&&p.catch){p.catch(function(){});}
  }
  rows.forEach(function(row){
    row.addEventListener('click',function(){play(row);});
    row.addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' '){e.preventDefault();play(row);}});
  });
  var timeline=document.querySelector('.timeline img');
  if(timeline&&timeline.dataset.x1){
    timeline.addEventListener('click',function(e){
      var d=timeline.dataset, r=timeline.getBoundingClientRect();
      var u=((e.clientX-r.left)/r.width-parseFloat(d.x0))/(parseFloat(d.x1)-parseFloat(d.x0));
      if(u<0||u>1){return;}
      stopAt=null;
      video.currentTime=parseFloat(d.t0)+u*(parseFloat(d.t1)-parseFloat(d.t0));
      var p=video.play();
      if(p&&p.catch){p.catch(function(){});}
    });
  }
  video.addEventListener('timeupdate',function(){
    var t=video.currentTime;
    if(stopAt!==null&&t>=stopAt){video.pause();stopAt=null;}
    rows.forEach(function(row){
      var on=t>=parseFloat(row.dataset.start)&&t<parseFloat(row.dataset.end);
      row.classList.toggle('current',on);
    });
  });
})();
"""


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


def render_report(scenes: SceneList, page: str | os.PathLike[str], *,
                  timeline_png: bytes | None = None, timeline_layout: dict | None = None,
                  thumbnails: dict[int, bytes] | None = None) -> str:
    """The page's HTML. ``thumbnails`` maps a scene index to JPEG bytes; ``timeline_layout``
    (from :func:`~scenedet.outputs.plot.render_timeline`) makes a click on the timeline seek."""
    thumbnails = thumbnails or {}
    esc = html.escape
    rows = []
    for s in scenes.scenes:
        thumb = thumbnails.get(s.index)
        img = f'<img alt="scene {s.index}" src="{data_uri(thumb, "image/jpeg")}">' if thumb else ""
        score = "" if s.score is None else f"{s.score:.2f}"
        rows.append(
            f'<tr class="scene" tabindex="0" data-index="{s.index}" data-start="{s.start:.3f}" '
            f'data-end="{s.end:.3f}"><td>{s.index}</td><td class="thumb">{img}</td>'
            f'<td>{_clock(s.start)}<br><span class="mono">{esc(s.start_timecode)}</span></td>'
            f'<td>{_clock(s.end)}<br><span class="mono">{esc(s.end_timecode)}</span></td>'
            f'<td>{s.duration:.0f} s</td><td>{score}</td></tr>')
    table = ('<table><thead><tr><th>#</th><th></th><th>start</th><th>end</th><th>length</th>'
             f'<th>score</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
             if rows else f'<p class="empty">No {esc(scenes.scene)} scene found.</p>')
    where = "".join(f' data-{k}="{v:.6f}"' for k, v in (timeline_layout or {}).items())
    timeline = (f'<img alt="timeline" title="click to play from there"{where} '
                f'src="{data_uri(timeline_png, "image/png")}">' if timeline_png else "")
    rate = scenes.frame_rate
    facts = (f"{len(scenes.scenes)} {esc(scenes.scene)} scene(s) in {_clock(scenes.duration)} · "
             f"{float(rate.value):.3f} fps{' drop-frame' if rate.drop_frame else ''}"
             f"{' (variable)' if rate.variable else ''}")
    meta = esc(json.dumps({"video": scenes.video, "scene": scenes.scene,
                           "settings": scenes.settings}))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>{esc(scenes.name)}: {esc(scenes.scene)} scenes</title>
<style>{_CSS}</style></head>
<body data-run="{meta}">
<header><h1>{esc(scenes.name)}: {esc(scenes.scene)} scenes</h1><p>{facts}</p></header>
<main>
<section><video id="player" controls preload="metadata" src="{esc(video_src(scenes.video, page))}"></video>
<div class="timeline">{timeline}</div></section>
<section class="scenes">{table}</section>
</main>
<script>{_JS}</script>
</body></html>
"""


def write_report(scenes: SceneList, path: str | os.PathLike[str], *, label_threshold: float = 0.5,
                 annotations=None, thumbnails: bool = True) -> Path:
    """Render the timeline and one thumbnail per scene, and write the page to ``path``."""
    from scenedet.outputs.plot import render_timeline
    from scenedet.outputs.stills import encode_image, grab_frames

    layout: dict = {}
    png = render_timeline(scenes.scores, [(s.start, s.end) for s in scenes.scenes],
                          label_threshold=label_threshold, annotations=annotations,
                          size=(10, 2.6), dpi=96, layout=layout)
    thumbs: dict[int, bytes] = {}
    if thumbnails and scenes.scenes and Path(scenes.video).exists():
        middles = [(s.start + s.end) / 2 for s in scenes.scenes]
        for s, rgb in zip(scenes.scenes, grab_frames(scenes.video, middles, width=160)):
            thumbs[s.index] = encode_image(rgb, "jpg", quality=80)
    return files.write_text(path, render_report(scenes, path, timeline_png=png,
                                                     timeline_layout=layout, thumbnails=thumbs))
