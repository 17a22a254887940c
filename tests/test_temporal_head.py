"""The temporal head: its context, streaming equal to whole-film scoring, training and a run."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from scenedet.inference.sequence import StreamingScorer, is_sequence_head, streamed
from scenedet.inference.temporal import TemporalHead, context_of, sequence_logits


def _head(in_features: int = 6, seed: int = 0, **kw) -> TemporalHead:
    torch.manual_seed(seed)
    return TemporalHead(in_features=in_features, **kw).eval()


def _whole(head: TemporalHead, x: torch.Tensor) -> np.ndarray:
    with torch.inference_mode():
        return torch.softmax(head.sequence(x), -1)[:, 1].numpy()


def test_registered_and_small():
    from scenedet.plugin.registry import create_head

    head = create_head("temporal", in_features=640, num_classes=2)
    assert is_sequence_head(head) and head.receptive_field == 63
    assert context_of(head) == (31, 31)
    assert sum(p.numel() for p in head.parameters()) < 300_000
    assert not is_sequence_head(create_head("linear", in_features=640, num_classes=2))


def test_a_score_sees_its_receptive_field_and_nothing_further():
    head = _head(dilations=(1, 2, 4))  # reach 7 either side
    x = torch.randn(60, 6)
    base = _whole(head, x)
    for t in (0, 20, 59):
        moved = x.clone()
        moved[t] += 5.0
        changed = np.flatnonzero(np.abs(_whole(head, moved) - base) > 0)
        assert changed.min() >= t - 7 and changed.max() <= t + 7
        assert t in changed


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 100), batch=st.integers(1, 40), chunk=st.integers(1, 70),
       seed=st.integers(0, 3))
def test_streaming_equals_the_whole_film(n, batch, chunk, seed):
    head = _head(seed=seed)
    x = torch.randn(n, 6, generator=torch.Generator().manual_seed(seed))
    scorer = StreamingScorer(head, chunk=chunk)
    with torch.inference_mode():
        for start in range(0, n, batch):
            scorer.push(x[start:start + batch])
            # bounded: look-back, chunk, batch and look-ahead, whatever the film's length
            assert scorer.buffered <= head.look_back + chunk + batch + head.look_ahead
            assert scorer.emitted >= scorer.received - head.look_ahead - chunk - batch
        streamed_scores = scorer.finish()
    assert streamed_scores.shape == (n,)
    if n:
        np.testing.assert_allclose(streamed_scores, _whole(head, x), atol=1e-5, rtol=0)


def test_streamed_through_the_model_forward_replaces_placeholders():
    head = _head()
    model = torch.nn.Module()
    model.head = head
    x = torch.randn(50, 6)
    with torch.inference_mode(), streamed(model) as scorer:
        placeholders = [head(x[i:i + 16]) for i in range(0, 50, 16)]
        scores = scorer.finish()
    assert head.stream is None  # released after the film
    assert all(float(p.abs().sum()) == 0 for p in placeholders)
    np.testing.assert_allclose(scores, _whole(head, x), atol=1e-5)


def test_streaming_refuses_what_would_score_a_batch_twice():
    from scenedet.errors import UsageError

    model = torch.nn.Module()
    model.head = _head()
    with pytest.raises(UsageError, match="auto"):
        with streamed(model, precision="auto"):
            pass
    with pytest.raises(UsageError, match="speed-up"):
        with streamed(model, speedup="int8"):
            pass
    linear = torch.nn.Module()
    linear.head = torch.nn.Linear(6, 2)
    with streamed(linear, speedup="int8") as none:
        assert none is None


def test_sequence_logits_of_a_linear_head_is_per_second():
    head = torch.nn.Linear(6, 2)
    x = torch.randn(9, 6)
    assert torch.equal(sequence_logits(head, x), head(x))


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    from scenedet.synth import synthesize

    root = tmp_path_factory.mktemp("tiny")
    return synthesize(root, films=6, seed=3, min_seconds=30, max_seconds=40, min_scene=8,
                      max_scene=14, width=160, height=120, fps=6)


class _Count:
    """A toy frame-level detector, so that a run takes the one-decode pass."""

    def __init__(self) -> None:
        self.frames = 0

    def add_frames(self, batch) -> None:
        self.frames += len(batch.frames((32, 18)))

    def add_audio(self, chunk) -> None:
        pass

    def finish(self, info):
        from scenedet.plugin import FrameSegment

        return [FrameSegment(start=0.0, end=info.duration, start_frame=0, end_frame=self.frames,
                             score=1.0)]


@pytest.mark.slow
def test_train_temporal_then_run_with_settings_from_validation(tiny_set, shared_feature_cache,
                                                               tmp_path, monkeypatch):
    import warnings

    import scenedet.inference.sequence

    monkeypatch.setattr(scenedet.inference.sequence, "CHUNK", 4)  # films of 30 s: stream them

    from click.testing import CliRunner

    from plugin_helpers import plugin_with

    import scenedet
    from scenedet.cli import cli
    from scenedet.plugin import DetectorSpec
    from scenedet.inference.modelfile import load_model_file

    out = tmp_path / "temporal.pt"
    result = CliRunner().invoke(cli, [
        "train", "-p", "kissing", "-a", str(tiny_set.annotations_path), "-o", str(out),
        "--head", "temporal", "--backbone-weights", "random:0", "--epochs", "6", "-q"])
    assert result.exit_code == 0, result.output
    meta = load_model_file(out).meta
    assert meta.head == "temporal" and meta.receptive_field == 63
    assert meta.training["head"]["look_ahead"] == 31
    assert set(meta.segmentation) == {"min_length", "threshold"}
    assert "chosen on validation" in result.output
    film = tiny_set.paths[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = scenedet.run(film, ["kissing"], model=out, batch_size=256)["kissing"]
        chunked = scenedet.run(film, ["kissing"], model=out, batch_size=3)["kissing"]
        with plugin_with(detectors=[DetectorSpec(name="toy-count", factory=_Count, width=32,
                                                 height=18)]):
            together = scenedet.run(film, ["kissing", "toy-count"], model=out,
                                    batch_size=5)["kissing"]
    assert whole.settings["min_length"] == meta.segmentation["min_length"]
    assert whole.settings["threshold"] == meta.segmentation["threshold"]
    assert len(whole.scores) == len(chunked.scores) == len(together.scores) >= 30
    np.testing.assert_allclose(chunked.scores, whole.scores, atol=1e-5, rtol=0)
    np.testing.assert_allclose(together.scores, whole.scores, atol=1e-5, rtol=0)
    assert [(s.start, s.end) for s in chunked.segments] == [(s.start, s.end) for s in whole.segments]


def test_train_all_with_a_sequence_head_is_refused_in_one_line(tiny_set, tmp_path):
    from click.testing import CliRunner

    from scenedet.cli import cli

    result = CliRunner().invoke(cli, [
        "train", "-p", "kissing", "-a", str(tiny_set.annotations_path), "-o",
        str(tmp_path / "x.pt"), "--head", "temporal", "--train-all", "--epochs", "1"])
    assert result.exit_code == 2 and "sequence head" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "x.pt").exists()


def test_an_engine_refuses_a_speedup_for_a_temporal_model_before_any_film(tmp_path):
    import warnings

    from scenedet.engine import Engine
    from scenedet.errors import UsageError
    from scenedet.inference.modelfile import ModelMeta, save_model_file

    meta = ModelMeta(scene="kissing", backbones=("resnet18", "vggish"),
                     backbone_weights=("random:0", "random:0"), feature_dims=(512, 128),
                     head="temporal", receptive_field=63)
    path = save_model_file(tmp_path / "t.pt", meta, _head(640).state_dict())
    with warnings.catch_warnings(), pytest.raises(UsageError, match="sequence head"):
        warnings.simplefilter("ignore")
        Engine(["kissing"], model=path, speedup="int8")
