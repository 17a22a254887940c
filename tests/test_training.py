"""Training on a tiny generated dataset, splits by film, and the train CLI."""

import json

import pytest
from click.testing import CliRunner
from hypothesis import given, strategies as st

from scenedet.cli import cli
from scenedet.inference.modelfile import load_model_file
from scenedet.paths import default_model_path
from scenedet.training.splits import split_films


@given(st.lists(st.text(min_size=1, max_size=8), unique=True, max_size=40), st.integers(0, 10**6))
def test_no_film_appears_in_two_splits(films, seed):
    splits = split_films(films, seed=seed)
    seen = [f for part in splits.values() for f in part]
    assert sorted(seen) == sorted(films)            # every film somewhere
    assert len(seen) == len(set(seen))               # and only once
    if len(films) >= 3:
        assert all(splits[k] for k in ("train", "val", "test"))
    assert split_films(list(reversed(films)), seed=seed) == splits  # order does not matter


def test_split_fractions_are_80_10_10():
    splits = split_films([f"f{i}" for i in range(100)], seed=1)
    assert [len(splits[k]) for k in ("train", "val", "test")] == [80, 10, 10]
    assert split_films([f"f{i}" for i in range(100)], seed=2) != splits


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    from scenedet.synth import synthesize

    root = tmp_path_factory.mktemp("tiny")
    return synthesize(root, films=6, seed=3, min_seconds=30, max_seconds=40, min_scene=8,
                      max_scene=14, width=160, height=120, fps=6)


@pytest.mark.slow
def test_train_beats_chance_and_records_everything(tiny_set, shared_feature_cache, tmp_path):
    out = tmp_path / "tiny.pt"
    metrics = tmp_path / "metrics.json"
    result = CliRunner().invoke(cli, [
        "train", "-p", "kissing", "-a", str(tiny_set.annotations_path), "-o", str(out),
        "--backbone-weights", "random:0", "--seed", "1", "--epochs", "30", "--install",
        "--metrics", str(metrics)])
    assert result.exit_code == 0, result.output
    meta = load_model_file(out).meta
    training = meta.training
    splits = training["splits"]
    names = [f for part in splits.values() for f in part]
    assert sorted(names) == sorted(f.file for f in tiny_set.films) and len(set(names)) == len(names)
    assert meta.backbones == ("resnet18", "vggish") and meta.backbone_weights == ("random:0", "random:0")
    assert len(training["epochs"]) == 30 and training["config"]["lr"] == 1e-3
    test = training["test"]
    confusion = test["confusion"]
    positives = confusion["tp"] + confusion["fn"]
    total = positives + confusion["fp"] + confusion["tn"]
    majority = max(positives, total - positives) / total
    always_positive_f1 = 2 * positives / (positives + total)
    # chance: a constant answer; a trained head must clearly beat both constant answers
    assert test["accuracy"] > majority, test
    assert test["f1"] >= always_positive_f1 + 0.2, test
    assert json.loads(metrics.read_text())["test"] == test
    assert default_model_path("kissing").read_bytes() == out.read_bytes()  # --install


@pytest.mark.parametrize("args, needle", [
    (["--visual", "none", "--audio", "none"], "no backbone left"),
    (["--visual", "vggish"], "--visual 'vggish' is not a visual backbone"),
    (["--visual", "nope"], "unknown backbone 'nope'"),
])
def test_bad_component_choices(tmp_path, args, needle):
    """Refused before any film is opened (the films named here do not exist)."""
    annotations = tmp_path / "annotations.csv"
    annotations.write_text("video,start,end\na.mp4,0,5\nb.mp4,0,5\nc.mp4,1,4\n")
    result = CliRunner().invoke(cli, ["train", "-p", "kissing", "-a", str(annotations),
                                      "-o", str(tmp_path / "x.pt"), *args])
    assert result.exit_code == 2 and needle in result.output, result.output
    assert not (tmp_path / "x.pt").exists()


def test_too_few_films(tmp_path):
    (tmp_path / "a.csv").write_text("video,start,end\n")
    result = CliRunner().invoke(cli, ["train", "-p", "kissing", "-a", str(tmp_path / "a.csv"),
                                      "-o", str(tmp_path / "x.pt")])
    assert result.exit_code == 2 and "at least 3 annotated films" in result.output, result.output


@pytest.mark.slow
def test_train_all_fine_tunes_and_embeds_the_backbones(tmp_path):
    import scenedet
    import torch
    from scenedet.synth import synthesize

    data = synthesize(tmp_path / "ft", films=3, seed=5, min_seconds=12, max_seconds=14,
                      min_scene=4, max_scene=6, width=96, height=64, fps=2)
    out = tmp_path / "ft.pt"
    result = CliRunner().invoke(cli, ["train", "-p", "kissing", "-a", str(data.annotations_path),
                                      "-o", str(out), "--backbone-weights", "random:0",
                                      "--train-all", "--epochs", "1", "--batch-size", "8", "-q"])
    assert result.exit_code == 0, result.output
    model = load_model_file(out)
    assert model.meta.backbone_weights == ("embedded", "embedded")
    initial = scenedet.create_backbone("resnet18", weights="random:0").state_dict()
    tuned = model.backbone_states["resnet18"]
    assert set(tuned) == set(initial)
    assert not torch.equal(tuned["conv1.weight"], initial["conv1.weight"])  # it learned
    run = CliRunner().invoke(cli, ["run", "-p", "kissing", str(data.paths[0]), "--model", str(out), "-q"])
    assert run.exit_code == 0, run.output
    assert len(json.loads(run.output)["scores"]) == data.films[0].duration


@pytest.mark.slow
def test_evaluate_runs_a_model_on_its_test_split(tiny_set, shared_feature_cache, tmp_path):
    """`run` re-decodes the test films and uses the saved head over raw features (the training
    standardisation folded into it): its confusion must equal the one training recorded."""
    out = tmp_path / "m.pt"
    assert CliRunner().invoke(cli, ["train", "-p", "kissing", "-a", str(tiny_set.annotations_path),
                                    "-o", str(out), "--backbone-weights", "random:0", "-q"]).exit_code == 0
    report = tmp_path / "report.json"
    result = CliRunner().invoke(cli, ["evaluate", "--annotations", str(tiny_set.annotations_path),
                                      "--model", str(out), "--split", "test", "-o", str(report)])
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    test_films = load_model_file(out).meta.training["splits"]["test"]
    assert data["videos"] == test_films and data["not_evaluated"] == []
    # the per-second numbers are the ones training recorded for its test split
    recorded = load_model_file(out).meta.training["test"]
    assert data["per_second"]["confusion"] == recorded["confusion"]
    assert "Average precision" in result.output


def test_library_backbone_choice_errors_name_no_cli_flags():
    from scenedet.errors import UsageError
    from scenedet.training.train import BackboneChoiceError, choose_backbones

    with pytest.raises(BackboneChoiceError) as info:
        choose_backbones("kissing", visual="vggish")
    assert (info.value.modality, info.value.choice, info.value.actual) == ("visual", "vggish", "audio")
    assert "--" not in str(info.value)
    with pytest.raises(UsageError, match="no backbone left") as info:
        choose_backbones("kissing", visual="none", audio="none")
    assert "--" not in str(info.value)
    assert choose_backbones("kissing", audio="none") == ["resnet18"]
