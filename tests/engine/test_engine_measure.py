import os

import pytest

from engine.chunking import ChunkerSettings
from engine.measure import MeasureError, measure_path

SMALL_CHUNKS = ChunkerSettings(min_size=1024, avg_size=4096, max_size=16384)


def test_duplicated_files_measure_a_dedup_factor_near_their_copy_count(tmp_path):
    original = os.urandom(256 * 1024)
    for n in range(3):
        (tmp_path / f"copy{n}.bin").write_bytes(original)

    measured = measure_path(tmp_path, SMALL_CHUNKS)

    assert measured.files == 3 and measured.logical_bytes == 3 * len(original)
    assert measured.dedup_factor == pytest.approx(3.0, rel=0.05)
    assert measured.compression_factor == pytest.approx(1.0, abs=0.05)  # random data does not compress


def test_text_measures_a_compression_factor_above_one(tmp_path):
    (tmp_path / "log.txt").write_bytes(
        b"".join(b"2026-11-26 INFO request %d served\n" % n for n in range(20000))
    )

    measured = measure_path(tmp_path / "log.txt", SMALL_CHUNKS)

    assert measured.compression_factor > 3
    assert measured.stored_bytes < measured.unique_bytes


def test_a_missing_sample_path_is_a_clear_error(tmp_path):
    with pytest.raises(MeasureError, match="nope: no such file or directory"):
        measure_path(tmp_path / "nope")


def test_measure_errors_name_the_path_not_a_flag_of_one_caller(tmp_path):
    # `python -m engine measure PATH` has no --sample; the cost CLI adds its flag itself.
    with pytest.raises(MeasureError) as raised:
        measure_path(tmp_path)
    assert str(raised.value).startswith(f"{tmp_path}:")


def test_an_empty_sample_is_a_clear_error(tmp_path):
    with pytest.raises(MeasureError, match="found no data"):
        measure_path(tmp_path)
