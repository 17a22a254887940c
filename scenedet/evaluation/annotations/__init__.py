"""Annotated scenes: the values and labels (:mod:`.model`), files (:mod:`.io`) and checks
against the films (:mod:`.validation`).

Everything a caller needs is importable from here:
``from scenedet.evaluation.annotations import load_annotations, AnnotationSet``.
"""

from scenedet.evaluation.annotations.io import CSV_COLUMNS, load_annotations, save_annotations
from scenedet.evaluation.annotations.model import (IGNORE, NEGATIVE, POSITIVE, Annotation,
                                                   AnnotationError, AnnotationSet, match_video,
                                                   parse_label, per_second_labels, second_range,
                                                   video_key)
from scenedet.evaluation.annotations.validation import (DURATION_TOLERANCE, existing_videos,
                                                        probe_durations, validate)

__all__ = ["CSV_COLUMNS", "DURATION_TOLERANCE", "IGNORE", "NEGATIVE", "POSITIVE", "Annotation",
           "AnnotationError", "AnnotationSet", "existing_videos", "load_annotations",
           "match_video", "parse_label", "per_second_labels", "probe_durations",
           "save_annotations", "second_range", "validate", "video_key"]
