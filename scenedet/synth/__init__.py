"""Generated films with known scenes: plan (:mod:`.plan`), render (:mod:`.render`), write a
dataset (:mod:`.dataset`).

The main entry points are re-exported here: ``from scenedet.synth import synthesize``.
"""

from scenedet.synth.dataset import SynthDataset, SynthFilm, synthesize
from scenedet.synth.plan import FilmPlan, SynthScene, SynthSettings, plan_dataset, plan_film
from scenedet.synth.render import FilmRenderer, render_film

__all__ = ["FilmPlan", "FilmRenderer", "SynthDataset", "SynthFilm", "SynthScene", "SynthSettings",
           "plan_dataset", "plan_film", "render_film", "synthesize"]
