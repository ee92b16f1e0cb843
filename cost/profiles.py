"""Data profiles: how well a kind of data deduplicates and compresses, and how its writes cluster.

The profile NAMES are owned here (the stack's `elastio:usage.dataProfile` is checked against them). Each
factor comes from a measurement with the engine's own chunker and compressor or from a published figure,
named in `sources`; none is chosen to reach a savings target. A measured sample (`--sample`) replaces the
dedup and compression factors of the profile.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cost.errors import CostInputError

MEASURED_ON = "2026-11-26"
_MEASURE = "benchmarks/cost_profiles.py (engine.chunking: FastCDC avg 64 KiB, zstd level 1)"


@dataclass(frozen=True)
class DataProfile:
    name: str
    description: str
    dedup_factor: float  # logical bytes / unique chunk bytes, within one vault
    compression_factor: float  # unique chunk bytes / stored (compressed) bytes
    # Typical contiguous run of bytes a day's writes change. Block-level backups store whole blocks, so
    # small scattered writes amplify: a run of w bytes dirties about 1 + g/w blocks of size g.
    changed_extent_kib: float
    sources: tuple[str, ...]

    @property
    def reduction(self) -> float:
        return self.dedup_factor * self.compression_factor

    def measured(self, dedup_factor: float, compression_factor: float, what: str) -> DataProfile:
        """This profile with factors measured on a sample (write clustering still comes from the profile)."""
        return replace(
            self,
            name=f"{self.name} (measured)",
            dedup_factor=dedup_factor,
            compression_factor=compression_factor,
            sources=(f"measured on {what} with engine.measure.measure_path",) + self.sources[2:],
        )


PROFILES: dict[str, DataProfile] = {
    "general": DataProfile(
        name="general",
        description="mixed unstructured file/VM data (OS images, application files, documents)",
        dedup_factor=1.08,
        compression_factor=2.74,
        changed_extent_kib=1024,
        sources=(
            f"dedup 1.08x measured on 1 GiB of a Debian /usr tree (one OS image) with {_MEASURE}, "
            f"{MEASURED_ON}; "
            "fleets of VMs from one base image dedup far more (Jin & Miller, SYSTOR 2009), so this is low",
            f"compression 2.74x measured on the same run, {MEASURED_ON}",
            "changed extent 1 MiB: assumption (files are rewritten whole or in large sequential runs)",
        ),
    ),
    "database": DataProfile(
        name="database",
        description="database files (8-16 KiB pages updated in place)",
        dedup_factor=1.0,
        compression_factor=2.0,
        changed_extent_kib=128,
        sources=(
            "dedup 1.0x: assumption (pages carry unique keys and log sequence numbers)",
            "compression 2.0x: MySQL Reference Manual, InnoDB table compression (16 KB pages compressed to "
            "KEY_BLOCK_SIZE=8, the usual 2:1 setting)",
            "changed extent 128 KiB: assumption (PostgreSQL 8 KiB / InnoDB 16 KiB pages, flushed in clusters "
            "of "
            "neighbouring pages at checkpoints)",
        ),
    ),
    "media": DataProfile(
        name="media",
        description="already-compressed images and video",
        dedup_factor=1.095,
        compression_factor=1.016,
        changed_extent_kib=8192,
        sources=(
            f"dedup 1.095x measured on 512 MiB of jpg/png/gz/xz/zip/whl files with {_MEASURE}, {MEASURED_ON}",
            f"compression 1.016x measured on the same run, {MEASURED_ON}",
            "changed extent 8 MiB: assumption (media files are written whole)",
        ),
    ),
    "logs": DataProfile(
        name="logs",
        description="text logs, appended",
        dedup_factor=1.0,
        compression_factor=8.0,
        changed_extent_kib=4096,
        sources=(
            "dedup 1.0x: assumption (appended log lines carry timestamps, so new chunks are new)",
            "compression 8x: below the 10-20x general-purpose compressors reach on the Loghub datasets "
            "(Zhu et al., 'Tools and Benchmarks for Automated Log Parsing', ICSE-SEIP 2019; Loghub), because "
            "zstd level 1 compresses each 64 KiB chunk on its own",
            "changed extent 4 MiB: assumption (a day of appends is one contiguous run per file)",
        ),
    ),
}

DEFAULT_PROFILE = "general"


def get_profile(name: str, field: str = "data_profile") -> DataProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise CostInputError(
            field, name, f"is not a data profile; use one of: {', '.join(PROFILES)}"
        ) from None
