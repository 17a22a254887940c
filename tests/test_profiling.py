"""The profiler: off costs nothing and records nothing; on, stages add up across threads."""

import threading
import time

import pytest

from scenedet import profiling


@pytest.fixture
def profile():
    yield profiling.enable(True)
    profiling.enable(False)


def test_disabled_records_nothing():
    profiling.enable(False)
    with profiling.stage("decode"):
        time.sleep(0.001)
    assert profiling.PROFILE.stages() == []


def test_stages_sum_across_threads(profile):
    def work():
        for _ in range(5):
            with profiling.stage("decode"):
                time.sleep(0.002)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (decode,) = profile.stages()
    assert decode.name == "decode" and decode.calls == 15
    assert decode.seconds >= 15 * 0.002
    data = profile.to_dict()
    assert data["stages"]["decode"]["calls"] == 15
    assert "decode" in profile.report()


def test_env_switch(monkeypatch):
    monkeypatch.setenv("SCENEDET_PROFILE", "1")
    assert profiling.env_enabled()
    monkeypatch.setenv("SCENEDET_PROFILE", "0")
    assert not profiling.env_enabled()
