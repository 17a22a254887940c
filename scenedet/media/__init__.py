"""Streaming media: per-second stills, clips and 16 kHz audio from any file PyAV can decode."""
