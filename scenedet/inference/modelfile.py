"""Model files: a scene's trained head (and fine-tuned backbones) plus the metadata to trust it.

A model file is a ``torch.save`` archive of tensors and one JSON string, read back with
``torch.load(weights_only=True)``: loading a model file never runs pickled code. The metadata says
which scene and components it was trained for, their feature sizes and weights, and the
preprocessing version; a file that does not fit the installed components is refused with a
one-line reason instead of producing silent nonsense.
"""

from __future__ import annotations

import json

from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from scenedet import __version__
from scenedet.errors import ModelFileError
from scenedet.files import output_path

if TYPE_CHECKING:
    import torch

FORMAT_VERSION = 1
#: Bumped whenever extractor or backbone preprocessing changes what a backbone sees.
PREPROCESSING_VERSION = 1
_META_KEY = "scenedet_model"

@attrs.frozen(kw_only=True)
class ModelMeta:
    """What a model file was trained for. ``backbone_weights`` holds each backbone's ``weights_id``
    (``"embedded"`` when the file carries fine-tuned backbone weights)."""

    scene: str
    backbones: tuple[str, ...] = attrs.field(converter=tuple)
    backbone_weights: tuple[str, ...] = attrs.field(converter=tuple)
    feature_dims: tuple[int, ...] = attrs.field(converter=tuple)
    backbone_options: dict[str, dict[str, Any]] = attrs.Factory(dict)
    head: str = "linear"
    num_classes: int = 2
    labels: tuple[str, ...] = attrs.field(default=("negative", "positive"), converter=tuple)
    preprocessing: int = PREPROCESSING_VERSION
    scenedet_version: str = __version__
    format: int = FORMAT_VERSION
    training: dict[str, Any] = attrs.Factory(dict)
    #: Seconds one score sees (``look_back + 1 + look_ahead``; 1 for a per-second head).
    receptive_field: int = 1
    #: The segmentation settings ``train`` chose on the validation films (``min_length``,
    #: ``threshold``, ...; :mod:`scenedet.training.choose`): a run's defaults, below the user's.
    segmentation: dict[str, Any] = attrs.Factory(dict)

    @property
    def in_features(self) -> int:
        return sum(self.feature_dims)

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

def save_model_file(path: str | Path, meta: ModelMeta, head_state: dict[str, torch.Tensor],
                    backbone_states: dict[str, dict[str, torch.Tensor]] | None = None) -> Path:
    """Write a model file atomically (a crash never leaves half a file where a model was)."""
    import torch

    path = Path(path)
    payload: dict[str, Any] = {
        _META_KEY: json.dumps(meta.to_dict(), sort_keys=True),
        "head": {k: v.detach().cpu() for k, v in head_state.items()},
    }
    if backbone_states:
        payload["backbones"] = {name: {k: v.detach().cpu() for k, v in sd.items()}
                                for name, sd in backbone_states.items()}
    with output_path(path) as tmp:
        torch.save(payload, tmp)
    return path

@attrs.frozen
class ModelFile:
    """A loaded model file: metadata plus state dicts (CPU tensors)."""

    path: Path
    meta: ModelMeta
    head_state: dict[str, Any]
    backbone_states: dict[str, dict[str, Any]]

def load_model_file(path: str | Path) -> ModelFile:
    """Read and sanity-check a model file; raise :class:`ModelFileError` with one line otherwise."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # torch's own text is long, and cut it would say nothing: say what it is
        from scenedet.files import describe_file

        raise ModelFileError(f"not a scenedet model file: {path} is {describe_file(path)}") from None
    if not isinstance(payload, dict) or _META_KEY not in payload or "head" not in payload:
        raise ModelFileError(f"not a scenedet model file: {path} (no scenedet metadata)")
    try:
        raw = json.loads(payload[_META_KEY])
        if raw.get("format") != FORMAT_VERSION:
            raise ModelFileError(f"{path}: model file format {raw.get('format')} is not supported "
                                 f"(this scenedet reads format {FORMAT_VERSION})")
        meta = ModelMeta(**raw)
    except ModelFileError:
        raise
    except Exception as exc:
        raise ModelFileError(f"{path}: unreadable model metadata ({exc})") from None
    return ModelFile(path=path, meta=meta, head_state=payload["head"],
                     backbone_states=payload.get("backbones", {}))

def model_settings(path: str | Path) -> dict[str, Any]:
    """The segmentation settings a model file recommends (``min_length``, ``threshold``), read
    without loading its weights; ``{}`` when it has none or cannot be read (loading it says why)."""
    import torch

    try:
        payload = torch.load(Path(path), map_location="cpu", weights_only=True, mmap=True)
        chosen = json.loads(payload[_META_KEY]).get("segmentation") or {}
    except Exception:  # noqa: BLE001  (load_model_file reports a bad file in one line)
        return {}
    return {k: chosen[k] for k in ("min_length", "threshold") if chosen.get(k) is not None}


def check_compatible(model: ModelFile, scene: str, feature_dims: dict[str, int]) -> None:
    """Refuse a model trained for another scene, preprocessing, or other feature sizes."""
    meta = model.meta
    where = model.path
    if meta.scene != scene:
        raise ModelFileError(f"{where} was trained for scene {meta.scene!r}, not {scene!r}")
    if meta.preprocessing != PREPROCESSING_VERSION:
        raise ModelFileError(f"{where} was made with preprocessing version {meta.preprocessing}; "
                             f"this scenedet uses {PREPROCESSING_VERSION}: retrain the model")
    for name, dim in zip(meta.backbones, meta.feature_dims):
        have = feature_dims.get(name)
        if have != dim:
            raise ModelFileError(f"{where} expects {dim}-d features from {name!r}, "
                                 f"but the installed backbone gives {have}")


def provenance(meta: ModelMeta, path: str | Path) -> dict[str, Any]:
    """What a result says about the model that scored it: the file, its backbones' weights and,
    when any backbone is a seeded random initialisation (``random:SEED``, as the offline demo
    trains over), ``"test_pattern": True`` and a note a person cannot miss."""
    weights = dict(zip(meta.backbones, meta.backbone_weights))
    random = [f"{name} {w}" for name, w in weights.items() if str(w).startswith("random:")]
    out: dict[str, Any] = {"model": str(path), "backbones": weights, "head": meta.head,
                           "test_pattern": bool(random)}
    if random:
        out["note"] = (f"backbones: {', '.join(random)}, a test pattern, not a trained "
                       "detector")
    return out
