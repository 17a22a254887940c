"""Scene clips (stream copy and exact) and stills, decoded back from generated films."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import av
import numpy as np
import pytest
from click.testing import CliRunner
from films import read_index

from scenedet.cli import cli
from scenedet.outputs.clips import copy_clip, encode_clip
from scenedet.outputs.timecode import seconds_to_frame
from scenedet.outputs.stills import encode_png, grab_frames, still_times, write_stills


def _decode(path):
    """(frame indices shown, video duration, audio duration or None) of a written clip."""
    with av.open(str(path)) as inp:
        video = inp.streams.video[0]
        frames = [(read_index(f.to_ndarray(format="rgb24")), f.pts * f.time_base)
                  for f in inp.decode(video)]
    with av.open(str(path)) as inp:
        audio_end = None
        if inp.streams.audio:
            a = inp.streams.audio[0]
            last = [f for f in inp.decode(a)][-1]
            audio_end = float(last.pts * last.time_base) + last.samples / last.sample_rate
    return frames, audio_end


@pytest.mark.parametrize("name,fps,gop,start,end", [
    ("cfr24", 24, 24, 1.5, 3.0),       # keyframe every second: snaps back to 1.0
    ("cfr25", 25, 50, 2.5, 4.0),       # B-frames, keyframes 2 s apart: snaps back to 2.0
    ("ntsc", Fraction(30000, 1001), 15, 1.0, 3.0),
    ("longgop", 24, 250, 3.0, 5.0),    # a single keyframe: the clip starts at 0
])
def test_stream_copy_starts_on_the_keyframe_before_and_says_by_how_much(
        media_films, tmp_path, name, fps, gop, start, end):
    film = media_films.get(name)
    clip = copy_clip(film.path, start, end, tmp_path / f"clip{film.path.suffix}")
    first = seconds_to_frame(start, fps)  # the scene's first frame (nearest boundary)
    keyframe = first // gop * gop  # frame index
    assert clip.start == pytest.approx(float(keyframe / Fraction(fps)), abs=1e-6)
    assert clip.snapped_by == pytest.approx(max(0.0, start - clip.start), abs=1e-6)
    frames, audio_end = _decode(clip.path)
    indices = [i for i, _ in frames]
    assert indices[0] == keyframe and frames[0][1] < 0.2  # starts at the keyframe, near 0
    assert indices == sorted(indices) and len(set(indices)) == len(indices)
    last_wanted = math.ceil(end * fps - 1e-9) - 1
    assert last_wanted <= indices[-1] <= last_wanted + 3  # B-frames: at most a few past the end
    duration = len(indices) / float(fps)
    assert abs(duration - (end - start)) <= gop / float(fps) + 0.15  # within one GOP
    if film.audio is not None:
        assert audio_end == pytest.approx(end - clip.start, abs=0.1)  # audio kept, in sync


@pytest.mark.parametrize("name,fps,start,end", [("cfr25", 25, 2.5, 4.0), ("ntsc", Fraction(30000, 1001), 1.0, 3.0),
                                                ("cfr24", 24, 1.5, 3.0)])
def test_exact_clips_hold_exactly_the_scenes_frames(media_films, tmp_path, name, fps, start, end):
    film = media_films.get(name)
    clip = encode_clip(film.path, start, end, tmp_path / "exact.mp4")
    frames, audio_end = _decode(clip.path)
    first, stop = math.ceil(start * fps - 1e-9), math.ceil(end * fps - 1e-9)
    assert [i for i, _ in frames] == list(range(first, stop))
    assert clip.snapped_by == 0 and clip.exact
    if film.audio is not None:
        assert audio_end == pytest.approx(end - start, abs=0.05)


def test_a_failed_clip_leaves_no_file(media_films, tmp_path):
    from scenedet.errors import MediaError

    with pytest.raises(MediaError):
        encode_clip(media_films.get("cfr24").path, 50, 60, tmp_path / "none.mp4")
    assert list(tmp_path.iterdir()) == []


def test_stills_show_the_frame_at_each_time(media_films, tmp_path):
    film = media_films.get("cfr25")
    times = still_times(1.0, 4.0, 3)
    assert times == [1.5, 2.5, 3.5]
    grabbed = grab_frames(film.path, times, width=None)
    # frame shown at t is the last one with pts <= t: at 25 fps, index floor(t * 25)
    assert [read_index(rgb) for rgb in grabbed] == [37, 62, 87]
    small = grab_frames(film.path, [1.5], width=80)[0]
    assert small.shape == (60, 80, 3)


def test_stills_follow_the_display_rotation(media_films):
    rgb = grab_frames(media_films.get("rot90").path, [0.5], width=None)[0]
    assert rgb.shape == (160, 120, 3)  # stored 160x120, shown upright as 120 wide


def test_write_stills_names_and_formats(media_films, tmp_path):
    from PIL import Image

    film = media_films.get("cfr24")
    out = write_stills(film.path, [(1, 0.0, 2.0), (2, 3.0, 5.0)], tmp_path / "stills", per_scene=2)
    assert sorted(out) == [1, 2] and all(len(v) == 2 for v in out.values())
    first = out[1][0]
    assert first.path.name == "cfr24-scene-001-1.jpg" and first.time == 0.5
    with Image.open(first.path) as img:
        assert img.format == "JPEG" and img.size == (160, 120)
    png = write_stills(film.path, [(1, 0.0, 2.0)], tmp_path / "png", per_scene=1, fmt="png")
    with Image.open(png[1][0].path) as img:
        assert img.format == "PNG"
        assert read_index(np.asarray(img.convert("RGB"))) == 24  # the frame shown at 1.0 s


def test_the_tiny_png_writer_is_a_valid_png():
    from PIL import Image
    import io

    rgb = (np.arange(5 * 7 * 3) % 256).astype(np.uint8).reshape(5, 7, 3)
    with Image.open(io.BytesIO(encode_png(rgb))) as img:
        assert np.array_equal(np.asarray(img), rgb)


def test_export_writes_clips_and_stills_and_records_them(media_films, tmp_path):
    film = media_films.get("cfr25")
    saved = tmp_path / "film.json"
    saved.write_text(json.dumps({"video": str(film.path), "scene": "kissing", "duration": 5.0,
                                 "segments": [{"start": 1, "end": 3, "score": 0.9},
                                              {"start": 3, "end": 5, "score": 0.8}],
                                 "scores": [0.1, 0.9, 0.9, 0.8, 0.8]}))
    out = tmp_path / "out.json"
    result = CliRunner().invoke(cli, ["export", str(saved), "-o", str(out), "--clips",
                                      str(tmp_path / "clips"), "--stills", str(tmp_path / "stills"),
                                      "--stills-per-scene", "2"])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    first = data["segments"][0]
    assert first["clip"]["path"].endswith("cfr25-scene-001.mp4")
    assert first["clip"]["snapped_by"] == pytest.approx(1.0)  # keyframes at 0, 2, 4 s
    assert data["segments"][1]["clip"]["snapped_by"] == pytest.approx(1.0)
    assert len(first["stills"]) == 2
    assert sorted(p.name for p in (tmp_path / "clips").iterdir()) == [
        "cfr25-scene-001.mp4", "cfr25-scene-002.mp4"]
    assert len(list((tmp_path / "stills").iterdir())) == 4
    assert "2 clip(s)" in result.output and "4 still(s)" in result.output


def test_clips_exact_needs_clips(tmp_path):
    saved = tmp_path / "film.json"
    saved.write_text(json.dumps({"video": "x.mp4", "segments": [], "frame_rate": 25}))
    result = CliRunner().invoke(cli, ["export", str(saved), "--clips-exact", "-o", str(tmp_path / "a.csv")])
    assert result.exit_code == 2 and "--clips" in result.output
