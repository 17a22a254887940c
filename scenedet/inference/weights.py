"""Backbone weights, resolved the same way for every plugin.

A backbone factory gets ``weights=`` as one of:

* ``"pretrained"`` (or ``None``): the official file, described by a :class:`KnownWeights`
  (URL + SHA-256 prefix, torch-hub naming ``name-<sha256 prefix>.pth``). It is looked up in
  ``torch.hub.get_dir()/checkpoints`` and downloaded there once, checksum-verified. Offline
  (``SCENEDET_OFFLINE=1``) or when the download fails, a :class:`~scenedet.errors.WeightsError`
  says which file to put where. A cached file with the wrong checksum is refused, never used:
  features from other weights would silently mismatch a trained head.
* ``"random:SEED"``: seeded random initialisation inside a forked RNG (the caller's random
  state is untouched), for tests and demos without any file.
* a path: a state dict (``torch.load(weights_only=True)``, or ``.safetensors``), checked
  strictly against the architecture (one-line error listing the first mismatches).

Each route yields a ``weights_id`` that model files record, so a head is never run over other
backbone weights: ``"torchvision:ResNet18_Weights.IMAGENET1K_V1"``, ``"random:0"``,
``"file:<sha256[:16]>"`` (or the official id when the path *is* the official file, so an offline
machine given the file by path matches a model trained with ``"pretrained"``).

Importing this module is cheap: torch, torchvision and safetensors are imported where used.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs

from scenedet.errors import WeightsError, one_line

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn

OFFLINE_ENV = "SCENEDET_OFFLINE"
PRETRAINED = "pretrained"
RANDOM_PREFIX = "random:"

StateDict = dict[str, "torch.Tensor"]
Adapter = Callable[[StateDict], StateDict]
"""Maps a file's state dict onto the architecture's keys (drop a classifier, rename old keys)."""

_HASH_IN_NAME = re.compile(r"-([a-f0-9]{8,})\.")  # torch.hub's convention: name-<sha256 prefix>.ext
_SHOWN_MISMATCHES = 3


# -- where things are ---------------------------------------------------------------------------

def is_offline() -> bool:
    """True when ``SCENEDET_OFFLINE`` is set to anything but ``""``/``0``/``false``/``no``."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def checkpoints_dir() -> Path:
    """``torch.hub.get_dir()/checkpoints``: the cache torchvision and timm use too (follows $TORCH_HOME)."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


# -- the weights argument -----------------------------------------------------------------------

@attrs.frozen
class WeightsRequest:
    """A parsed ``weights=`` argument."""

    kind: Literal["pretrained", "random", "file"]
    seed: int | None = None
    path: Path | None = None


def parse_weights(weights: str | os.PathLike[str] | None) -> WeightsRequest:
    """Parse ``"pretrained"`` / ``None``, ``"random:SEED"`` or the path of an existing file."""
    if weights is None or weights == PRETRAINED:
        return WeightsRequest("pretrained")
    text = os.fspath(weights)
    if text == "random" or text.startswith(RANDOM_PREFIX):
        seed = text[len(RANDOM_PREFIX):]
        if not seed.isdigit():
            raise WeightsError(f"random weights need an integer seed: 'random:SEED' (got {text!r})")
        return WeightsRequest("random", seed=int(seed))
    path = Path(text).expanduser()
    if not path.is_file():
        raise WeightsError(f"weights {text!r}: no such file (expected 'pretrained', "
                           f"'random:SEED' or the path of a weight file)")
    return WeightsRequest("file", path=path)


# -- official files -----------------------------------------------------------------------------

@attrs.frozen(kw_only=True)
class KnownWeights:
    """An official weight file: fetched by URL, verified by SHA-256, cached under a fixed name.

    ``sha256`` is the full digest when known; otherwise the prefix in the file name (torch-hub
    convention, ``resnet18-f37072fd.pth``) is what gets checked. A file without either cannot be
    verified and is rejected at definition time.
    """

    url: str
    weights_id: str
    sha256: str = ""

    def __attrs_post_init__(self) -> None:
        if not self.hash_prefix:
            raise ValueError(f"{self.url}: no sha256 given and none in the file name")

    @property
    def file_name(self) -> str:
        return self.url.split("?", 1)[0].rsplit("/", 1)[-1]

    @property
    def hash_prefix(self) -> str:
        if self.sha256:
            return self.sha256.lower()
        match = _HASH_IN_NAME.search(self.file_name)
        return match.group(1) if match else ""

    @property
    def cache_path(self) -> Path:
        return checkpoints_dir() / self.file_name

    def matches(self, digest: str) -> bool:
        """Whether a file with SHA-256 ``digest`` is this official file."""
        return digest.startswith(self.hash_prefix)


_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of ``path``, memoised per (path, size, mtime) so each file is read once."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def _put_file_hint(known: KnownWeights) -> str:
    return (f"put {known.file_name} (from {known.url}) at {known.cache_path}, "
            f"or pass --weights PATH")


def fetch_pretrained(known: KnownWeights, *, backbone: str) -> Path:
    """The verified local copy of ``known``: from the cache, else downloaded once.

    Raises :class:`WeightsError` when offline without the file, when the download fails, or when
    the cached file's checksum is wrong (it is not deleted: the user may want to look at it).
    """
    path = known.cache_path
    if path.is_file():
        digest = file_sha256(path)
        if not known.matches(digest):
            raise WeightsError(
                f"{backbone}: cached weights {path} fail the checksum (sha256 {digest[:16]}..., "
                f"expected {known.hash_prefix[:16]}...): delete the file to download it again, "
                f"or replace it with {known.url}")
        return path
    if is_offline():
        raise WeightsError(f"{backbone}: pretrained weights are not cached and scenedet is offline "
                           f"({OFFLINE_ENV}=1): {_put_file_hint(known)}")
    return _download(known, backbone=backbone)


def _download(known: KnownWeights, *, backbone: str) -> Path:
    import torch.hub

    path = known.cache_path
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # writes a temporary file and renames it only once the hash matches
        torch.hub.download_url_to_file(known.url, str(path), hash_prefix=known.hash_prefix,
                                       progress=True)
    except Exception as exc:  # network errors come in many types; all mean the same to the user
        if "invalid hash" in str(exc):
            raise WeightsError(f"{backbone}: the file downloaded from {known.url} fails the "
                               f"checksum (expected sha256 {known.hash_prefix[:16]}...); "
                               f"nothing was saved") from exc
        raise WeightsError(f"{backbone}: could not download pretrained weights "
                           f"({type(exc).__name__}: {one_line(exc, limit=160)}): "
                           f"{_put_file_hint(known)}") from exc
    return path


# -- reading files ------------------------------------------------------------------------------

def _numpy_safe_globals() -> list[Any]:
    """What unpickling plain NumPy arrays needs (under both NumPy 1 and 2 module names)."""
    import numpy as np

    core = np._core if hasattr(np, "_core") else np.core  # NumPy 2 renamed numpy.core
    reconstruct = core.multiarray._reconstruct
    dtypes = [type(np.dtype(t)) for t in (np.float16, np.float32, np.float64, np.int32, np.int64)]
    return [reconstruct, (reconstruct, "numpy.core.multiarray._reconstruct"),
            np.ndarray, np.dtype, *dtypes]


def load_file(path: Path, *, backbone: str, allow_numpy: bool = False) -> Any:
    """The object in a weight file, loaded without running pickled code.

    ``.safetensors`` files go through safetensors; anything else through
    ``torch.load(weights_only=True)`` (``allow_numpy`` also admits plain NumPy arrays, as in the
    VGGish PCA file). A file that needs arbitrary code is refused with the way to convert it.
    """
    import torch

    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file as load_safetensors

            return load_safetensors(str(path), device="cpu")
        if allow_numpy:
            with torch.serialization.safe_globals(_numpy_safe_globals()):
                return torch.load(path, map_location="cpu", weights_only=True)
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "Unsupported global" not in str(exc):  # not a pickle of objects: a broken file
            raise WeightsError(f"{backbone}: cannot read weight file {path} "
                               f"({type(exc).__name__}: {one_line(exc, limit=160)})") from exc
        raise WeightsError(
            f"{backbone}: {path} holds Python objects besides tensors, which scenedet does not "
            f"unpickle; if you trust the file, re-save its state dict: torch.save(torch.load(PATH, "
            f"weights_only=False)['state_dict'], 'clean.pth')") from exc
    except Exception as exc:
        raise WeightsError(f"{backbone}: cannot read weight file {path} "
                           f"({type(exc).__name__}: {one_line(exc, limit=160)})") from exc


def unwrap_state_dict(obj: Any, *, backbone: str, source: object) -> StateDict:
    """The tensor state dict inside a checkpoint.

    Accepts a bare state dict or a training checkpoint wrapping one under ``"state_dict"`` or
    ``"model"`` (3D-ResNets-PyTorch, timm, most training scripts), and strips the ``"module."``
    prefix that ``DataParallel`` adds to every key.
    """
    import torch

    if isinstance(obj, Mapping):
        for key in ("state_dict", "model"):
            inner = obj.get(key)
            if isinstance(inner, Mapping) and inner:
                obj = inner
                break
    if not isinstance(obj, Mapping) or not obj:
        raise WeightsError(f"{backbone}: {source} does not hold a state dict "
                           f"(got {type(obj).__name__})")
    bad = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise WeightsError(f"{backbone}: {source} is not a state dict of tensors "
                           f"(e.g. {bad[0]!r} is a {type(obj[bad[0]]).__name__})")
    state = {str(k): v for k, v in obj.items()}
    if all(k.startswith("module.") for k in state):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


def read_state_dict(path: Path, *, backbone: str) -> StateDict:
    """:func:`load_file` then :func:`unwrap_state_dict`."""
    return unwrap_state_dict(load_file(path, backbone=backbone), backbone=backbone, source=path)


def drop_prefixes(*prefixes: str) -> Adapter:
    """An :data:`Adapter` dropping keys under ``prefixes`` (a classifier the backbone replaced)."""
    dotted = tuple(p.rstrip(".") + "." for p in prefixes)

    def adapt(state: StateDict) -> StateDict:
        return {k: v for k, v in state.items() if not k.startswith(dotted)}

    return adapt


# -- putting weights into a module --------------------------------------------------------------

def _shown(items: Sequence[str]) -> str:
    more = f", ... ({len(items)} in all)" if len(items) > _SHOWN_MISMATCHES else ""
    return ", ".join(items[:_SHOWN_MISMATCHES]) + more


def check_state_dict(model: nn.Module, state: Mapping[str, torch.Tensor], *, backbone: str,
                     source: object) -> None:
    """Raise a one-line :class:`WeightsError` unless ``state`` has exactly ``model``'s keys and shapes."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
              for k, v in expected.items() if k in state and state[k].shape != v.shape]
    problems = []
    if missing:
        problems.append(f"missing {_shown(missing)}")
    if unexpected:
        problems.append(f"unexpected {_shown(unexpected)}")
    if shapes:
        problems.append(f"wrong shape (file vs model) {_shown(shapes)}")
    if problems:
        raise WeightsError(f"{backbone}: {source} does not fit the architecture: "
                           + "; ".join(problems))


def _has_meta_tensors(model: nn.Module) -> bool:
    return any(t.is_meta for t in (*model.parameters(), *model.buffers()))


def load_state_into(build: Callable[[], nn.Module], state: StateDict, *, backbone: str,
                    source: object) -> nn.Module:
    """``build()`` carrying ``state``, checked strictly.

    The module is first built on the meta device and the tensors assigned, which skips the random
    initialisation (seconds for 60-70 M parameters); a module with buffers that are computed
    rather than stored (some timm models) is rebuilt normally instead.
    """
    import torch

    with torch.device("meta"):
        model = build()
    check_state_dict(model, state, backbone=backbone, source=source)
    reference = model.state_dict()
    state = {k: v.to(dtype=reference[k].dtype) for k, v in state.items()}
    model.load_state_dict(state, strict=True, assign=True)
    if _has_meta_tensors(model):
        model = build()
        model.load_state_dict(state, strict=True)
    return model


def build_random(build: Callable[[], nn.Module], seed: int) -> nn.Module:
    """``build()`` initialised from ``seed``, leaving the caller's (CPU) RNG state as it was."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def build_with_weights(build: Callable[[], nn.Module], weights: str | os.PathLike[str] | None, *,
                       backbone: str, known: KnownWeights | None = None,
                       adapt: Adapter | None = None,
                       no_pretrained: str | None = None) -> tuple[nn.Module, str]:
    """Build a module and give it the weights ``weights`` names; returns ``(module, weights_id)``.

    ``build`` makes the bare architecture (classifier already replaced). ``known`` is the official
    file for ``"pretrained"``; without one, ``"pretrained"`` raises ``no_pretrained`` (or a generic
    message). ``adapt`` maps file keys onto the architecture's. The module is in eval mode.
    """
    request = parse_weights(weights)
    if request.kind == "random":
        assert request.seed is not None
        return build_random(build, request.seed).eval(), f"random:{request.seed}"
    if request.kind == "pretrained":
        if known is None:
            raise WeightsError(no_pretrained or f"{backbone}: no official pretrained weights; "
                                                f"pass --weights PATH or --weights random:SEED")
        path = fetch_pretrained(known, backbone=backbone)
        weights_id = known.weights_id
    else:
        assert request.path is not None
        path = request.path
        digest = file_sha256(path)
        weights_id = known.weights_id if known and known.matches(digest) else f"file:{digest[:16]}"
    state = read_state_dict(path, backbone=backbone)
    if adapt is not None:
        state = adapt(state)
    return load_state_into(build, state, backbone=backbone, source=path).eval(), weights_id


def make_backbone(module: nn.Module, *, name: str, input: str, feature_dim: int, weights_id: str,
                  preprocess: Callable[[np.ndarray], torch.Tensor]) -> nn.Module:
    """Give an architecture module the attributes of :class:`scenedet.plugin.interfaces.Backbone`.

    The module is kept as is (not wrapped), so its ``state_dict`` keeps the upstream layout and a
    file saved from it loads back by path. Returns the module in eval mode.
    """
    module.name = name
    module.input = input
    module.feature_dim = int(feature_dim)
    module.weights_id = weights_id
    module.preprocess = preprocess
    return module.eval()
