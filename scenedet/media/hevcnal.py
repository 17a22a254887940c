"""Which HEVC packets hold only pictures that no other picture predicts from, by NAL headers.

FFmpeg's HEVC decoder drops, under ``skip_frame="NONREF"``, every *sub-layer non-reference*
picture (NAL types TRAIL_N, TSA_N, STSA_N, RADL_N, RASL_N and the reserved RSV_VCL_N10/12/14:
the even types below 16). Such a picture is not a reference for pictures of its own temporal
sub-layer, but may be one for a higher sub-layer: dropping it is exact only when it sits in the
highest sub-layer the stream has (its ``TemporalId`` equals the SPS's
``sps_max_sub_layers_minus1``). :meth:`HevcPictures.nonreference` says so for a packet, from
the two-byte NAL headers of its slices and the SPS (from the codec's extradata or in-band),
so that :mod:`scenedet.media.nonref` sends with ``"NONREF"`` only packets FFmpeg may drop
without changing any other picture. A packet is read as length-prefixed NAL units (MP4/MKV:
``hvcC`` extradata says the length size) or as Annex-B start codes (MPEG-TS, raw streams);
nothing is decoded, only headers read. Whatever cannot be read answers "not skippable".
"""

from __future__ import annotations

from collections.abc import Iterator

#: Sub-layer non-reference VCL NAL unit types (H.265 table 7-1).
SUB_LAYER_NONREF = frozenset({0, 2, 4, 6, 8, 10, 12, 14})
_VCL_END = 32  # types 0..31 are VCL (slices)
_SPS = 33


class HevcPictures:
    """Reads the NAL units of one HEVC stream's packets (``extradata``: the codec's)."""

    def __init__(self, extradata: bytes | None) -> None:
        self.length_size: int | None = None  # None: Annex-B
        self.max_sub_layer: int | None = None  # sps_max_sub_layers_minus1 (the highest TemporalId)
        data = bytes(extradata or b"")
        if len(data) >= 23 and data[0] == 1:  # hvcC, ISO/IEC 14496-15
            self.length_size = (data[21] & 3) + 1
            self._hvcc_arrays(data)
        else:
            for nal in _annexb(data):
                self._parameter_set(nal)

    def nonreference(self, data: bytes | memoryview) -> bool:
        """Whether every picture slice in ``data`` (one packet) is a sub-layer non-reference
        picture of the highest sub-layer: nothing decodes from it. An SPS in the packet is read
        first."""
        slices = False
        for nal in self.nals(data):
            if len(nal) < 2:
                return False
            kind, tid = nal[0] >> 1 & 0x3F, (nal[1] & 7) - 1
            if kind == _SPS:
                self._parameter_set(nal)
            elif kind < _VCL_END:
                if kind not in SUB_LAYER_NONREF or self.max_sub_layer is None \
                        or tid != self.max_sub_layer:
                    return False
                slices = True
        return slices

    def observe(self, data: bytes | memoryview) -> None:
        """Read the parameter sets of a packet (a keyframe's in-band SPS)."""
        for nal in self.nals(data):
            if len(nal) >= 3 and nal[0] >> 1 & 0x3F == _SPS:
                self._parameter_set(nal)

    def nals(self, data: bytes | memoryview) -> Iterator[memoryview]:
        """The NAL units of one packet, each from its two-byte header on."""
        view = memoryview(data).cast("B")
        if self.length_size is None:
            yield from _annexb(view)
            return
        size, i = self.length_size, 0
        while i + size <= len(view):
            n = int.from_bytes(view[i:i + size], "big")
            i += size
            if n <= 0 or i + n > len(view):
                yield view[i:i]  # unreadable: an empty unit, which is "not skippable"
                return
            yield view[i:i + n]
            i += n

    def _hvcc_arrays(self, data: bytes) -> None:
        i, count = 23, data[22]
        for _ in range(count):
            if i + 3 > len(data):
                return
            kind, units = data[i] & 0x3F, int.from_bytes(data[i + 1:i + 3], "big")
            i += 3
            for _ in range(units):
                if i + 2 > len(data):
                    return
                n = int.from_bytes(data[i:i + 2], "big")
                if kind == _SPS:
                    self._parameter_set(memoryview(data)[i + 2:i + 2 + n])
                i += 2 + n

    def _parameter_set(self, nal: bytes | memoryview) -> None:
        """From an SPS: ``sps_video_parameter_set_id`` u(4), ``sps_max_sub_layers_minus1`` u(3)."""
        if len(nal) >= 3 and nal[0] >> 1 & 0x3F == _SPS:
            self.max_sub_layer = nal[2] >> 1 & 7


def _annexb(data: bytes | memoryview) -> Iterator[memoryview]:
    """NAL units between ``00 00 01`` start codes (a trailing zero byte belongs to the next
    four-byte start code)."""
    view = memoryview(data).cast("B")
    raw = bytes(view)
    starts = []
    i = raw.find(b"\x00\x00\x01")
    while i >= 0:
        starts.append(i + 3)
        i = raw.find(b"\x00\x00\x01", i + 3)
    for k, begin in enumerate(starts):
        end = starts[k + 1] - 3 if k + 1 < len(starts) else len(raw)
        while end > begin and raw[end - 1] == 0 and k + 1 < len(starts):
            end -= 1
        yield view[begin:end]


__all__ = ["HevcPictures", "SUB_LAYER_NONREF"]
