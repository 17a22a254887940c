"""Write films with PyAV (H.264 + AAC): test fixtures, benchmark films and the synthetic dataset.

Encoded with *frame* threading: PyAV's default for libx264 is sliced threads, which makes files
that decode unrealistically fast compared with real films.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np


class FilmWriter:
    """Streams RGB frames and float audio into a container; use as a context manager.

    Frames get ``pts = index / fps`` unless ``write_frame(..., time=s)`` gives a time (variable
    frame rate). Audio is mono or multi-channel ``float32`` in ``[-1, 1]`` at ``audio_rate``,
    written in any chunk size. ``gop`` sets the keyframe interval in frames.

    ``rotation`` (degrees counter-clockwise, as ``VideoFrame.rotation`` reads it back) and
    ``hflip`` write a display matrix (PyAV >= 17: ``VideoStream.set_display_rotation``): players
    and :mod:`scenedet.media.seconds.decode` turn the stored frames upright. ``audio_bit_rate``: FFmpeg's
    AAC encoder defaults to ~70 kb/s for mono, which leaves glitches of up to 0.4 on a pure tone;
    tests that measure audio use 192 kb/s. ``container_options`` go to the muxer, e.g.
    ``{"movflags": "+faststart"}`` (MP4 index first).
    """

    def __init__(self, path: str | Path, *, width: int, height: int, fps: float = 24,
                 gop: int | None = None, audio_rate: int | None = 48_000, audio_channels: int = 1,
                 codec: str = "libx264", preset: str = "ultrafast", crf: int = 28,
                 time_base: Fraction | None = None, rotation: int = 0, hflip: bool = False,
                 audio_bit_rate: int | None = None,
                 container_options: dict[str, str] | None = None) -> None:
        import av

        self.path = Path(path)
        self._container = av.open(str(self.path), mode="w",
                                  container_options=container_options or {})
        self.fps = Fraction(fps).limit_denominator(1001)
        self._video = self._container.add_stream(codec, rate=self.fps)
        self._video.width, self._video.height = width, height
        self._video.pix_fmt = "yuv420p"
        self._video.time_base = time_base or Fraction(1, 90_000)
        if codec in ("libx264", "libx265"):
            # The encoder counts in the stream's fine time base too: with its default (1 / fps),
            # variable-frame-rate timestamps closer than a frame apart collapse and the muxer
            # fails. (Not for every codec: MPEG-4 Part 2 allows denominators up to 65535 only.)
            self._video.codec_context.time_base = self._video.time_base
        self._video.thread_type = "FRAME"
        if rotation or hflip:
            self._video.set_display_rotation(rotation, hflip=hflip)
        options = {"preset": preset, "crf": str(crf)} if codec == "libx264" else {}
        if gop:
            self._video.codec_context.gop_size = gop
            if codec == "libx264":
                # x264's own settings go through "x264-params": FFmpeg ignores unknown keys, so
                # {"keyint": ...} alone would leave scene-cut detection adding keyframes.
                options["x264-params"] = f"keyint={gop}:min-keyint={gop}:scenecut=0"
        self._video.options = options
        self._frame_index = 0
        self._audio = None
        if audio_rate:
            layout = "mono" if audio_channels == 1 else "stereo"
            self._audio = self._container.add_stream("aac", rate=audio_rate, layout=layout)
            if audio_bit_rate:
                self._audio.bit_rate = audio_bit_rate
            self._audio_rate = audio_rate
            self._audio_channels = audio_channels
            self._audio_pts = 0

    def write_frame(self, rgb: np.ndarray, *, time: float | None = None) -> None:
        import av

        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb, dtype=np.uint8), format="rgb24")
        seconds = self._frame_index / self.fps if time is None else Fraction(time).limit_denominator(90_000)
        frame.pts = int(round(Fraction(seconds) / self._video.time_base))
        frame.time_base = self._video.time_base
        self._frame_index += 1
        for packet in self._video.encode(frame):
            self._container.mux(packet)

    def write_audio(self, samples: np.ndarray) -> None:
        import av

        if self._audio is None:
            raise ValueError("this writer was opened without audio (audio_rate=None)")
        data = np.asarray(samples, dtype=np.float32)
        if data.ndim == 1:
            data = data[None, :]
        if data.shape[0] != self._audio_channels:
            raise ValueError(f"expected {self._audio_channels} channel(s), got {data.shape[0]}")
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format="fltp",
                                           layout="mono" if self._audio_channels == 1 else "stereo")
        frame.sample_rate = self._audio_rate
        frame.pts = self._audio_pts
        frame.time_base = Fraction(1, self._audio_rate)
        self._audio_pts += data.shape[1]
        for packet in self._audio.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        for stream in (self._video, self._audio):
            if stream is not None:
                for packet in stream.encode(None):
                    self._container.mux(packet)
        self._container.close()

    def __enter__(self) -> FilmWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
