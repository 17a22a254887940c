"""Leave undecoded the frames no second shows: FFmpeg's ``skip_frame`` switched per packet.

Decoding straight through to keep one frame per second decodes ~24 frames per kept one. With
B-frames, many of the others are *non-reference* frames (H.264 ``nal_ref_idc`` 0: x264's
default, ``bframes=3`` with ``b-pyramid``, makes about two of every three B-frames so), which
no other frame predicts from: FFmpeg drops them unseen when ``skip_frame`` is ``"NONREF"`` at
the time their packet is sent, and every other frame decodes to the same bytes. FFmpeg's frame
threads copy ``skip_frame`` from the user's codec context with each packet they take
(``update_context_from_user`` in ``pthread_frame.c``), so the setting can change per packet
(tested: exactly the packets sent with ``"NONREF"`` go missing).

The rule (:meth:`NonrefSkip.decide`), exact without a margin or a guess of the frame rate: a
packet of pts ``p`` in second ``k`` (film time ``(k, k + 1]``, end pts ``E``) may be skipped when
``n`` packets already demuxed have pts in ``(p, E]`` (``n`` = frames per second kept): the window
of second ``k`` is the ``n`` latest frames at or before ``E``, so ``p`` is not in it, nor in any
later second's window, nor (``p > `` the previous second's end) in an earlier one. The frame a
second shows is never skipped, whatever the frame rate, gaps (variable rate) or GOP; with
decode order ``P8 B6 B5 B7`` (pyramid), B5 is skipped when B6 or P8 is still in its second.

What the rule assumes is checked as decoding goes (:meth:`NonrefSkip.frame`,
:meth:`NonrefSkip.check_window`): every frame's pts is the pts of a packet, frames come out in
increasing pts, no packet is rejected as damaged, and no skipped packet lies where a window
was handed out. If one fails after something was skipped, :class:`SkipUnsafe` makes
:func:`scenedet.media.seconds.decode.iter_seconds` decode again from the second not yet handed out,
without skipping; before anything was skipped, skipping just stops.

H.264 and HEVC (:data:`SKIP_CODECS`). FFmpeg's HEVC decoder drops every *sub-layer*
non-reference picture under ``"NONREF"``, and such a picture may be a reference of a higher
temporal sub-layer; so an HEVC packet is sent with ``"NONREF"`` only when its NAL headers say
its picture is non-reference in the stream's highest sub-layer (:mod:`scenedet.media.hevcnal`):
then nothing decodes from it. Other decoders' notion of non-reference is untested here.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import av

    from scenedet.media.hevcnal import HevcPictures

    from scenedet.media.videoframes import Clock, Held

#: Codecs whose ``skip_frame="NONREF"`` drops exactly the pictures nothing predicts from.
SKIP_CODECS = frozenset({"h264", "hevc"})

#: Packets (decode order) the rule looks back over for later pts in the same second. H.264
#: and HEVC reorder by at most 16 frames, so a packet's successors in display order come
#: within it.
LOOKBACK = 16

#: Packet pts remembered to check that each decoded frame's pts is a packet's (frame threads
#: and reordering delay a frame by at most ~32 packets).
_KNOWN = 128


class SkipUnsafe(Exception):
    """A frame some second shows may have been skipped: decode again without skipping."""


class NonrefSkip:
    """Per packet: may its frame go undecoded? And the checks that keep the answer exact."""

    def __init__(self, clock: Clock, n_frames: int) -> None:
        self.clock = clock
        self.n_frames = n_frames
        self.enabled = True
        self.skipped = 0  # packets sent with "NONREF" (frames not decoded if non-reference)
        self.packets = 0
        self.frames = 0  # frames decoded (benchmarks: how many the rule saved)
        self._recent: deque[int] = deque(maxlen=max(LOOKBACK, 2 * n_frames))
        self._pending: list[int] = []  # skipped pts not yet behind a handed-out window
        self._known: deque[int] = deque(maxlen=_KNOWN)
        self._known_set: set[int] = set()
        self._last_out: int | None = None
        self._handed_out: int | None = None  # end pts of the last window handed out
        self._hevc: HevcPictures | None | bool = None  # None: not looked at the codec yet

    def decide(self, packet: av.Packet) -> bool:
        """Whether ``packet`` is sent with ``skip_frame="NONREF"`` (see the module docstring)."""
        pts = packet.pts
        self.packets += 1
        if pts is None:
            return False
        known = self._known
        if len(known) == known.maxlen:
            self._known_set.discard(known[0])
        known.append(pts)
        self._known_set.add(pts)
        recent = self._recent
        skip = False
        if self.enabled:
            end = self.clock.second_end(pts)
            later = 0
            for q in recent:
                if pts < q <= end:
                    later += 1
            skip = later >= self.n_frames
        recent.append(pts)
        hevc = self._hevc if self._hevc is not None else self._codec(packet)
        if hevc:
            if skip:
                skip = hevc.nonreference(memoryview(packet))  # type: ignore[union-attr]
            elif packet.is_keyframe:
                hevc.observe(memoryview(packet))  # type: ignore[union-attr]
        if skip:
            self.skipped += 1
            self._pending.append(pts)
        return skip

    def _codec(self, packet: av.Packet) -> HevcPictures | bool:
        """For HEVC, the reader of its NAL headers; else False (FFmpeg's "NONREF" is exact)."""
        from scenedet.media.hevcnal import HevcPictures

        stream = getattr(packet, "stream", None)
        context = getattr(stream, "codec_context", None)
        self._hevc = (HevcPictures(context.extradata)
                      if context is not None and context.name == "hevc" else False)
        return self._hevc

    def restart(self) -> None:
        """Decoding starts again elsewhere (a seek): the windows are rebuilt from new frames.

        The packets seen stay in the rule's memory: they are facts about the film, wherever
        decoding stands.
        """
        self._pending.clear()
        self._last_out = None
        self._handed_out = None

    def unsafe(self, why: str) -> None:
        """An assumption failed: stop skipping, or start again if something was skipped."""
        self.enabled = False
        if self._pending or self.skipped:
            raise SkipUnsafe(why)

    def frame(self, pts: int | None) -> None:
        """Check one decoded frame (``pts`` as the file has it, before any is made up)."""
        self.frames += 1
        if pts is None or pts not in self._known_set:
            self.unsafe(f"a frame's pts {pts} is no packet's")
        elif self._last_out is not None and pts <= self._last_out:
            self.unsafe(f"frames out of order ({pts} after {self._last_out})")
        self._last_out = pts

    def check_window(self, window: deque[Held], end: int | None) -> None:
        """Before a window is handed out for the second ending at pts ``end`` (None: the film's
        end, every second after it): no skipped packet may belong in it."""
        if not self._pending:
            if end is not None:
                self._handed_out = end
            return
        full = len(window) >= self.n_frames
        floor = window[0].pts if full and window else None
        late = self._handed_out
        keep = []
        for s in self._pending:
            if end is not None and s > end:
                keep.append(s)
            elif floor is None or s >= floor or (late is not None and s <= late):
                raise SkipUnsafe(f"a skipped frame ({s}) belongs to a window")
        self._pending = keep
        if end is not None:
            self._handed_out = end
