"""Scoring a detector against annotated films: annotations (:mod:`.annotations`), metrics
(:mod:`.metrics`), reports (:mod:`.report`) and the end-to-end calls (:mod:`.evaluate`).

The main entry points are re-exported here::

    from scenedet.evaluation import load_annotations, evaluate_results, read_results
    report = evaluate_results(read_results("film.json"), load_annotations("annotations.csv"))
"""

from scenedet.evaluation.annotations import AnnotationSet, load_annotations, save_annotations
from scenedet.evaluation.evaluate import (evaluate_model, evaluate_results, predict_with_model,
                                          read_results, select_split)
from scenedet.evaluation.report import EvaluationReport, evaluate_predictions

__all__ = ["AnnotationSet", "EvaluationReport", "evaluate_model", "evaluate_predictions",
           "evaluate_results", "load_annotations", "predict_with_model", "read_results",
           "save_annotations", "select_split"]
