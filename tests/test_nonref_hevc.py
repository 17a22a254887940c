"""Skipping HEVC non-reference frames no second shows (scenedet.media.nonref, .hevcnal): exact.

The films are x265 (PyAV's wheel has libx265) with B-frames always used (``b-adapt=0``: the
frames of tests/films.py change too abruptly for x265 to pick B-frames itself), x265's default
GOP (one keyframe here) and a 1 s GOP, MP4 (length-prefixed NAL units) and MPEG-TS (Annex-B),
and a film with temporal sub-layers (x265 ``temporal-layers``), whose TSA_N pictures sit in the
highest sub-layer. Each frame shows its index, so a test sees which frame a second kept.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import pytest
from films import Film, cfr_times, encode_indexed, read_index, vfr_times
from hypothesis import given
from hypothesis import strategies as st
from test_nonref import Spy, assert_same, frames_of

from scenedet.media.hevcnal import SUB_LAYER_NONREF, HevcPictures
from scenedet.media.types import MediaRequest

pytestmark = pytest.mark.skipif("libx265" not in av.codecs_available,
                                reason="this PyAV has no HEVC encoder")


def write_hevc(path: Path, times: list[Fraction], params: str = "",
               fps: Fraction = Fraction(24)) -> Film:
    options = {"preset": "medium", "crf": "28",
               "x265-params": ":".join(p for p in ("b-adapt=0", params, "log-level=error") if p)}
    return encode_indexed(path, times, "libx265", options, fps=fps)


@pytest.fixture(scope="module")
def films(tmp_path_factory) -> dict[str, Film]:
    root = tmp_path_factory.mktemp("nonref-hevc")
    gop1 = "keyint=24:min-keyint=24:scenecut=0"
    return {
        "default": write_hevc(root / "default.mp4", cfr_times(24 * 6, Fraction(24))),
        "gop1": write_hevc(root / "gop1.mp4", cfr_times(24 * 5, Fraction(24)), gop1),
        "annexb": write_hevc(root / "annexb.ts", cfr_times(24 * 5, Fraction(24)), gop1),
        "layers": write_hevc(root / "layers.mkv", cfr_times(24 * 5, Fraction(24)),
                             "temporal-layers=3"),
        "vfr": write_hevc(root / "vfr.mp4", vfr_times(), "keyint=48:min-keyint=48"),
    }


@pytest.mark.parametrize("name, strategy", [
    (n, s) for n in ("default", "gop1", "layers", "vfr", "annexb") for s in ("sequential", "seek")])
def test_skipping_keeps_every_hevc_still_byte_identical(films, name, strategy, monkeypatch):
    film = films[name]
    every = frames_of(film.path, skip_nonref=False)
    spy = Spy(monkeypatch)
    skipping = frames_of(film.path, strategy=strategy)
    assert_same(skipping, every)
    assert [read_index(f[0]) for f in skipping] == \
        [film.expected_still(k) for k in range(film.n_seconds)]
    (skip,) = spy.made
    assert skip.enabled and skip.skipped > 0 and spy.unsafe == []  # the rule alone was exact
    assert skip.frames < skip.packets - 1  # some frames were never decoded (- the flush packet)


@pytest.mark.parametrize("n_frames", [2, 5])
def test_hevc_clips_are_exact_too(films, n_frames, monkeypatch):
    request = MediaRequest(frames=n_frames, audio=False)
    for name in ("default", "layers"):
        path = films[name].path
        every = frames_of(path, request, skip_nonref=False)
        spy = Spy(monkeypatch)
        assert_same(frames_of(path, request), every)
        assert spy.unsafe == []


def test_only_highest_sub_layer_nonreference_packets_are_sent_with_nonref(films):
    """What the reader says, against the NAL headers as the files have them."""
    for name, layered in (("default", False), ("annexb", False), ("layers", True)):
        with av.open(str(films[name].path)) as container:
            video = container.streams.video[0]
            pictures = HevcPictures(video.codec_context.extradata)
            kinds = []
            for packet in container.demux(video):
                if packet.size:
                    pictures.observe(memoryview(packet))
                    header = [(n[0] >> 1 & 63, (n[1] & 7) - 1)
                              for n in pictures.nals(memoryview(packet)) if (n[0] >> 1 & 63) < 32]
                    kinds.append((header, pictures.nonreference(memoryview(packet))))
        assert pictures.length_size == (None if name == "annexb" else 4)
        assert pictures.max_sub_layer == (2 if layered else 0)
        for header, skippable in kinds:
            want = all(t in SUB_LAYER_NONREF and tid == pictures.max_sub_layer
                       for t, tid in header)
            assert skippable == want
        assert sum(s for _, s in kinds) > len(kinds) // 4
        if layered:  # reference pictures of lower sub-layers are never skipped
            assert any(tid < 2 for h, _ in kinds for _, tid in h)


def nal(kind: int, tid: int, payload: bytes = b"\x80") -> bytes:
    return bytes([kind << 1, tid + 1]) + payload


def sps(max_sub_layers_minus1: int) -> bytes:
    return nal(33, 0, bytes([max_sub_layers_minus1 << 1 | 1, 0x60]))


def hvcc(*units: bytes, length_size: int = 4) -> bytes:
    head = bytearray(23)
    head[0], head[21], head[22] = 1, 0xF0 | (length_size - 1), len(units)
    for unit in units:
        head += bytes([unit[0] >> 1 & 63]) + (1).to_bytes(2, "big") + len(unit).to_bytes(2, "big")
        head += unit
    return bytes(head)


@given(kind=st.integers(0, 31), tid=st.integers(0, 6), highest=st.integers(0, 6),
       length_size=st.sampled_from([1, 2, 4]), annexb=st.booleans(),
       four_byte_codes=st.booleans())
def test_the_rule_on_any_nal_header(kind, tid, highest, length_size, annexb, four_byte_codes):
    """Skippable exactly when the slice is sub-layer non-reference in the highest sub-layer,
    whichever framing; two slices of one picture must both be."""
    slices = [nal(kind, tid, b"\x80\x00\x00\x03\x01"), nal(kind, tid)]
    if annexb:
        code = b"\x00\x00\x00\x01" if four_byte_codes else b"\x00\x00\x01"
        pictures = HevcPictures(code + sps(highest))
        packet = b"".join(code + s for s in slices)
    else:
        pictures = HevcPictures(hvcc(sps(highest), length_size=length_size))
        packet = b"".join(len(s).to_bytes(length_size, "big") + s for s in slices)
    assert pictures.max_sub_layer == highest
    assert pictures.nonreference(packet) == (kind in SUB_LAYER_NONREF and tid == highest)


def test_what_cannot_be_read_is_not_skipped():
    pictures = HevcPictures(hvcc(sps(0)))
    assert not pictures.nonreference(b"")  # no slice
    assert not pictures.nonreference((99).to_bytes(4, "big") + nal(0, 0))  # a length past the end
    assert not pictures.nonreference(len(nal(32, 0)).to_bytes(4, "big") + nal(32, 0))  # a VPS
    unknown = HevcPictures(None)  # no SPS seen: the highest sub-layer is unknown
    assert not unknown.nonreference(b"\x00\x00\x01" + nal(0, 0))
    assert unknown.nonreference(b"\x00\x00\x01" + sps(0) + b"\x00\x00\x01" + nal(0, 0))  # in-band
    mixed = len(nal(0, 0)).to_bytes(4, "big") + nal(0, 0) + len(nal(1, 0)).to_bytes(4, "big") + nal(1, 0)
    assert not pictures.nonreference(mixed)  # one reference slice: the picture is a reference
