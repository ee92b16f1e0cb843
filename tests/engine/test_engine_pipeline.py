"""The backup's CPU pipeline on worker processes (engine/pipeline.py): exact results, clean failures, bounded
read-ahead. Faults are real: the worker is killed (SIGKILL, as the OOM killer would), stopped (SIGSTOP), or
raises on a request it cannot serve."""

import dataclasses
import multiprocessing
import os
import random
import signal

import pytest
from engine_world import SMALL, volume_bytes

from engine import pipeline
from engine.backup import BackupRequest, run_backup
from engine.pipeline import PipelineError, PipelineSettings, segments_in_flight
from engine.restore import FileSink, run_restore
from engine.sources import ImageFileSource


def pipeline_workers() -> list[multiprocessing.Process]:
    return [p for p in multiprocessing.active_children() if p.name.startswith("cpu-pipeline-")]


def mixed_volume(segments: int) -> bytearray:
    """Text, incompressible runs, an all-zero segment and a repeated region, so every path of the pipeline runs."""
    seg = SMALL.segment_bytes
    data = volume_bytes(segments * seg, seed=3)
    rng = random.Random(5)
    data[2 * seg : 3 * seg] = rng.randbytes(seg)
    data[4 * seg : 5 * seg] = bytes(seg)  # a zero segment: no chunks
    data[6 * seg : 8 * seg] = data[0 : 2 * seg]  # duplicates within the backup
    return data


def backup(vault, image, job, registered, settings=SMALL, rp="rp-1", source_class=ImageFileSource):
    request = BackupRequest(f"job-{rp}", "vol-1", rp)
    return run_backup(vault, source_class(image, f"snap-{rp}"), request, registered, job, settings)


def test_a_backup_through_two_worker_processes_restores_byte_identical(vault, job, registered, tmp_path):
    # Two workers answer out of order with each other; the segments must still land where they belong.
    settings = dataclasses.replace(SMALL, pipeline=PipelineSettings(workers=2, ahead_per_worker=3))
    image = tmp_path / "vol.img"
    image.write_bytes(mixed_volume(24))

    result = backup(vault, image, job, registered, settings)
    restored = tmp_path / "restored.img"
    run_restore(vault, vault.read_manifest(result.manifest_key), FileSink(restored), job)

    assert restored.read_bytes() == image.read_bytes()
    assert result.chunks_reused > 0  # the duplicated region was found again, not stored twice
    assert pipeline_workers() == []  # the workers ended with the job


def test_a_worker_that_raises_fails_the_backup_without_a_manifest(vault, job, registered, tmp_path, monkeypatch):
    image = tmp_path / "vol.img"
    image.write_bytes(mixed_volume(12))
    send = pipeline._Worker.send

    def a_request_the_worker_cannot_serve(self, kind, seq, payload):
        if kind == pipeline.COMPRESS:
            payload = pipeline.POSITION.pack(10**6)  # no such chunk: the worker raises IndexError
        send(self, kind, seq, payload)

    monkeypatch.setattr(pipeline._Worker, "send", a_request_the_worker_cannot_serve)

    with pytest.raises(PipelineError, match="IndexError"):
        backup(vault, image, job, registered)

    assert vault.manifest_keys() == [] and registered == []
    assert vault.leases() == []
    assert pipeline_workers() == []


def test_a_killed_worker_fails_the_backup_without_a_manifest_or_a_hang(vault, job, registered, tmp_path):
    image = tmp_path / "vol.img"
    image.write_bytes(mixed_volume(40))

    class KillsTheWorker(ImageFileSource):
        def read_segments(self, indexes, segment_bytes):
            for n, item in enumerate(super().read_segments(indexes, segment_bytes)):
                if n == 3:
                    (worker,) = pipeline_workers()
                    os.kill(worker.pid, signal.SIGKILL)
                yield item

    with pytest.raises(PipelineError, match=r"exit code -9"):
        backup(vault, image, job, registered, source_class=KillsTheWorker)

    assert vault.manifest_keys() == [] and registered == []
    assert vault.leases() == []


def test_a_stuck_worker_stops_the_backup_and_the_source_is_read_no_further_than_the_bound(
    vault, job, registered, tmp_path
):
    # The worker stops answering (SIGSTOP) before its first segment: the backup must not buffer the volume in
    # the meantime, must give up after its stall timeout, and must end the stopped worker.
    settings = dataclasses.replace(SMALL, pipeline=PipelineSettings(ahead_per_worker=2, stall_seconds=0.5))
    bound = segments_in_flight(settings.pipeline, settings.lookup_window_bytes, settings.segment_bytes)
    image = tmp_path / "vol.img"
    image.write_bytes(volume_bytes(200 * settings.segment_bytes))
    yielded = []
    stopped = []

    class StopsTheWorker(ImageFileSource):
        def read_segments(self, indexes, segment_bytes):
            for item in super().read_segments(indexes, segment_bytes):
                if not stopped:
                    (worker,) = pipeline_workers()
                    os.kill(worker.pid, signal.SIGSTOP)
                    stopped.append(worker)
                yielded.append(item[0])
                yield item

    with pytest.raises(PipelineError, match="answered nothing"):
        backup(vault, image, job, registered, settings, source_class=StopsTheWorker)

    assert len(yielded) <= bound < 200
    assert vault.manifest_keys() == [] and registered == []
    assert not stopped[0].is_alive()
