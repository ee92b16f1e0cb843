"""A backup's CPU pipeline on a worker process: FastCDC + keyed BLAKE2b, then zstd of what the vault lacks.

Why a process. Profiling the I/O benchmark (py-spy, benchmarks/engine_io_throughput.py) showed the one thread
that held the GIL doing everything in turn: FastCDC (`fastcdc_cy` never releases the GIL), the hash and the
compression, and between them the orchestration of I/O (segment buffers, botocore calls, index items, pack
assembly). Hashing and zstd release the GIL for large buffers, but chunking and the per-chunk Python around it
do not, so threads could not use the job's second vCPU. Here a worker process does chunk + hash + compress and
the main process only orchestrates I/O: a backup job has 2 vCPUs (src/elastio_pulumi/job_definitions.py JOB_SIZES), one
for each (`CPU_WORKERS`).

Protocol: two pipes per worker. No shared memory: Fargate gives /dev/shm no configurable size
(`sharedMemorySize` is "not applicable to jobs that are running on Fargate resources",
https://docs.aws.amazon.com/batch/latest/userguide/fargate-job-definitions.html). Tasks are framed by hand
(`TASK` header, then the payload) and read straight into the worker's buffer: through multiprocessing's
`recv` a 512 KiB segment was copied three more times and cost the worker ~12% of its time. Answers are small
pickled tuples (multiprocessing's `send`).

    main -> worker   CHUNK seq + segment bytes        worker -> main  ("chunked", seq, zero, lengths, digests)
                     COMPRESS seq + u32 positions                     ("compressed", seq, frames)
                     STOP: exit                                       ("failed", seq, traceback), then exits

The worker imports the job's main module as multiprocessing does; `python -m engine` is skipped by name
(a package's `__main__`), and scripts need the usual `if __name__ == "__main__":` guard.

Compression waits for the index lookup, so only chunks the vault lacks are compressed: the worker keeps each
segment from its "chunk" to its "compress" (which may name no chunk). Memory is bounded by the segments in
flight (`max_segments`: sent and not yet released); `chunked()` reads the source no further ahead than that.

Failure: a worker's exception ("failed"), its death (its sentinel; EOF on its pipe) or its silence for
`stall_seconds` while work is outstanding raise PipelineError in the main process, and leaving the
`CpuPipeline` context kills the workers; the backup then fails before its manifest is written.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import multiprocessing
import os
import queue
import struct
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait

from engine.chunking import ChunkerSettings, Codec, split

# One worker process for chunk + hash + compress; the main process (I/O orchestration) takes the other vCPU of
# the 2-vCPU backup job. tests/components/test_vault_documents.py ties the job's size to this.
CPU_WORKERS = 1
# Segments queued to each worker ahead of the ones the backup is waiting for: enough to keep it busy while the
# main process is away on a call, small against the job's memory (16 x 512 KiB).
AHEAD_PER_WORKER = 16
STALL_SECONDS = 300.0  # a worker that answers nothing for this long while it has work is stuck


class PipelineError(RuntimeError):
    pass


TASK = struct.Struct("<BqI")  # kind, seq, payload bytes
CHUNK, COMPRESS, STOP = 1, 2, 3
POSITION = struct.Struct("<I")


@dataclass(frozen=True)
class PipelineSettings:
    workers: int = CPU_WORKERS
    ahead_per_worker: int = AHEAD_PER_WORKER
    stall_seconds: float = STALL_SECONDS

    def __post_init__(self) -> None:
        if self.workers < 1 or self.ahead_per_worker < 1 or self.stall_seconds <= 0:
            raise ValueError(
                f"pipeline: workers ({self.workers}) and ahead_per_worker ({self.ahead_per_worker}) must be at "
                f"least 1 and stall_seconds ({self.stall_seconds}) positive"
            )


def segments_in_flight(settings: PipelineSettings, window_bytes: int, segment_bytes: int) -> int:
    """The bound on segments held by workers: the backup holds up to two lookup windows of chunked segments
    (one being looked up, one filling; engine/backup.py), plus the segments queued ahead of the workers.
    A window closes once it holds `window_bytes`, so it has at most ceil(window / segment) + 1 segments (the
    volume's last segment may be short)."""
    window = math.ceil(window_bytes / segment_bytes) + 1
    return 2 * window + settings.workers * settings.ahead_per_worker


@dataclass(frozen=True)
class ChunkedSegment:
    """One segment as the worker cut it: chunk digests and lengths in order (none for an all-zero segment)."""

    seq: int
    index: int
    length: int
    zero: bool
    digests: list[bytes]
    lengths: list[int]


# --- the worker process -----------------------------------------------------------------------------------


def _read_exactly(fd: int, size: int, buffer: bytearray | None = None) -> bytearray:
    """`size` bytes from a pipe, read into one buffer (no intermediate copies); EOFError when it closes."""
    buffer = buffer if buffer is not None else bytearray(size)
    view, got = memoryview(buffer), 0
    while got < size:
        count = os.readv(fd, [view[got:]])
        if not count:
            raise EOFError
        got += count
    return buffer


def _write_all(fd: int, *parts: bytes | bytearray) -> None:
    """All of `parts`, in one gathering write where the pipe takes it (a task's header and its segment: one
    system call and one wake-up of the worker instead of two), the rest as the pipe drains."""
    views = [memoryview(part).cast("B") for part in parts if len(part)]
    while views:
        written = os.writev(fd, views)
        while views and written >= views[0].nbytes:
            written -= views[0].nbytes
            views.pop(0)
        if views and written:
            views[0] = views[0][written:]


def _serve(tasks: Connection, results: Connection, chunker: ChunkerSettings, key: bytes | None) -> None:
    """The worker's loop. Exits on STOP, on the main process closing its pipe, or after reporting a failure."""
    codec = Codec(chunker.zstd_level)
    held: dict[int, tuple[bytearray, list[int], list[int]]] = {}  # seq -> data, offsets, lengths
    # Segment buffers are reused: a fresh 512 KiB buffer is a fresh mmap, zeroed and faulted in page by page
    # (measured: ~12% of the worker's time). Bounded by the segments in flight.
    spare: dict[int, list[bytearray]] = {}
    zeros: dict[int, bytes] = {}
    fd = tasks.fileno()
    seq = -1
    try:
        while True:
            try:
                kind, seq, size = TASK.unpack(_read_exactly(fd, TASK.size))
                pool = spare.get(size) if kind == CHUNK else None
                payload = _read_exactly(fd, size, pool.pop() if pool else None)
            except EOFError:
                return  # the main process is gone
            if kind == STOP:
                return
            if kind == CHUNK:
                # memcmp, stopping at the first byte of data (bytes.count(0) walks the whole segment)
                if payload == zeros.setdefault(size, bytes(size)):
                    spare.setdefault(size, []).append(payload)
                    results.send(("chunked", seq, True, [], []))
                    continue
                offsets, lengths, digests, offset = [], [], [], 0
                for chunk in split(payload, chunker, key):
                    offsets.append(offset)
                    lengths.append(len(chunk.data))
                    digests.append(chunk.digest)
                    offset += len(chunk.data)
                held[seq] = (payload, offsets, lengths)
                results.send(("chunked", seq, False, lengths, digests))
            elif kind == COMPRESS:
                data, offsets, lengths = held.pop(seq)
                view = memoryview(data)
                frames = [
                    codec.compress(view[offsets[p] : offsets[p] + lengths[p]])
                    for (p,) in POSITION.iter_unpack(payload)
                ]
                results.send(("compressed", seq, frames))
                spare.setdefault(len(data), []).append(data)
            else:
                raise ValueError(f"unknown pipeline task {kind}")
    except BaseException:
        try:
            results.send(("failed", seq, traceback.format_exc()))
        finally:
            raise SystemExit(1) from None


# --- the main process -------------------------------------------------------------------------------------

_CONTEXT: multiprocessing.context.BaseContext | None = None
_CONTEXT_LOCK = threading.Lock()


def _context() -> multiprocessing.context.BaseContext:
    """forkserver: a worker is forked from a clean single-threaded server, never from the job's process, whose
    botocore and reader threads a plain fork would copy mid-call; starting one costs a fork, not a new
    interpreter (spawn)."""
    global _CONTEXT
    with _CONTEXT_LOCK:
        if _CONTEXT is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["engine.pipeline"])
            _CONTEXT = context
        return _CONTEXT


# A pipe holds 64 KiB by default: a 512 KiB segment then crosses in 8 hand-offs between the processes, each a
# wake-up that a busy machine delays; measured, the worker idled half its time. 1 MiB is Linux's default
# limit for an unprivileged process (/proc/sys/fs/pipe-max-size), room for the next segment while the worker
# chunks this one.
PIPE_BYTES = 1024 * 1024


def _widen(fd: int) -> None:
    with contextlib.suppress(OSError, AttributeError):  # not Linux, or a lower limit: default size, still right
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)


class _Worker:
    def __init__(self, number: int, chunker: ChunkerSettings, key: bytes | None):
        context = _context()
        task_reader, self.tasks = context.Pipe(duplex=False)
        self.results, result_writer = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_serve, args=(task_reader, result_writer, chunker, key), name=f"cpu-pipeline-{number}", daemon=True
        )
        self.process.start()
        for connection in (self.tasks, self.results):
            _widen(connection.fileno())
        # The worker holds these ends now; closing ours makes its death show as EOF on `results`.
        task_reader.close()
        result_writer.close()
        # Sends run on a thread: the main process never blocks on a full pipe while the worker blocks on its
        # own full result pipe (a deadlock), and a stuck worker cannot hang the main process in a send.
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._sender = threading.Thread(target=self._send_all, name=f"cpu-pipeline-send-{number}", daemon=True)
        self._sender.start()

    def _send_all(self) -> None:
        fd = self.tasks.fileno()
        while True:
            kind, seq, payload = self._outbox.get()
            try:
                _write_all(fd, TASK.pack(kind, seq, len(payload)), payload)
            except (OSError, ValueError):
                return  # the worker is gone; the main process learns it from the worker's sentinel
            if kind == STOP:
                return

    def send(self, kind: int, seq: int, payload: bytes) -> None:
        self._outbox.put((kind, seq, payload))

    def stop(self, kill: bool, timeout: float = 10.0) -> None:
        self.send(STOP, -1, b"")
        if not kill:
            self._sender.join(timeout)
            self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()  # SIGKILL also ends a stopped (SIGSTOP) worker
            self.process.join(timeout)
        self._sender.join(timeout)
        self.tasks.close()
        self.results.close()


class CpuPipeline:
    """Chunk + hash segments on worker processes, and compress the chunks the caller asks for.

    Use as a context manager. `chunked(segments)` yields ChunkedSegment in source order; for each one that is
    not all zeros the caller must call `compress(segment, positions, store)` once (positions may be empty):
    `store(digest, frame, raw_length)` runs in the main process, in the order `compress` was called per
    worker, from within `chunked` or `finish`. `finish()` waits for every compression asked for.
    """

    def __init__(
        self,
        chunker: ChunkerSettings,
        key: bytes | None,
        max_segments: int,
        settings: PipelineSettings = PipelineSettings(),
    ):
        if max_segments < 1:
            raise ValueError(f"max_segments must be at least 1, got {max_segments}")
        self._chunker, self._key, self._settings = chunker, key, settings
        self.max_segments = max_segments
        self.in_flight = 0  # segments sent and not yet released by their worker
        self.peak_in_flight = 0
        self._workers: list[_Worker] = []
        self._owner: dict[int, _Worker] = {}
        self._next_seq = 0
        self._chunk_results: dict[int, tuple] = {}
        self._chunks_outstanding = 0
        self._compressions: dict[int, tuple[list[tuple[bytes, int]], Callable[[bytes, bytes, int], None]]] = {}

    def __enter__(self) -> CpuPipeline:
        try:
            for number in range(self._settings.workers):
                self._workers.append(_Worker(number, self._chunker, self._key))
        except BaseException:
            self.close(kill=True)
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(kill=exc_type is not None)

    @property
    def worker_processes(self) -> list[multiprocessing.process.BaseProcess]:
        return [worker.process for worker in self._workers]

    def close(self, kill: bool = False) -> None:
        """Stop the workers: at once when `kill` (a failure), else after their queued work."""
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.stop(kill=kill)

    # --- feeding ----------------------------------------------------------------------------------------------

    def chunked(self, segments: Iterable[tuple[int, bytes]]) -> Iterator[ChunkedSegment]:
        source = iter(segments)
        waiting: deque[tuple[int, int, int]] = deque()  # seq, segment index, length: in source order
        exhausted = False
        while True:
            while not exhausted and self.in_flight < self.max_segments:
                item = next(source, None)
                if item is None:
                    exhausted = True
                    break
                index, data = item
                waiting.append((self._send_chunk(data), index, len(data)))
            if not waiting:
                if exhausted:
                    return
                self._receive()  # no room: a compression in flight will free some
                continue
            seq, index, length = waiting[0]
            while seq not in self._chunk_results:
                self._receive()
            waiting.popleft()
            zero, lengths, digests = self._chunk_results.pop(seq)
            yield ChunkedSegment(seq, index, length, zero, digests, lengths)

    def _send_chunk(self, data: bytes) -> int:
        seq, self._next_seq = self._next_seq, self._next_seq + 1
        worker = self._workers[seq % len(self._workers)]
        self._owner[seq] = worker
        self.in_flight += 1
        self._chunks_outstanding += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        worker.send(CHUNK, seq, data)
        return seq

    def compress(
        self, segment: ChunkedSegment, positions: list[int], store: Callable[[bytes, bytes, int], None]
    ) -> None:
        """Compress the chunks at `positions` of `segment` (and release it in the worker)."""
        if segment.zero:
            if positions:
                raise ValueError(f"segment {segment.index} is all zeros: it has no chunks to compress")
            return
        self._compressions[segment.seq] = (
            [(segment.digests[p], segment.lengths[p]) for p in positions],
            store,
        )
        self._owner[segment.seq].send(COMPRESS, segment.seq, b"".join(POSITION.pack(p) for p in positions))

    def finish(self) -> None:
        """Wait until every segment is released (every compression asked for has been stored)."""
        while self._compressions:
            self._receive()

    # --- answers ----------------------------------------------------------------------------------------------

    def _receive(self) -> None:
        """Take one answer from any worker and act on it; PipelineError when a worker failed, died or stalled."""
        if not self._chunks_outstanding and not self._compressions:
            raise PipelineError("the CPU pipeline waits for an answer while no worker has work (a caller bug)")
        deadline = time.monotonic() + self._settings.stall_seconds
        by_connection = {worker.results: worker for worker in self._workers}
        by_sentinel = {worker.process.sentinel: worker for worker in self._workers}
        while True:
            ready = wait([*by_connection, *by_sentinel], timeout=max(0.0, deadline - time.monotonic()))
            if not ready:
                raise PipelineError(
                    f"the CPU pipeline's worker answered nothing for {self._settings.stall_seconds:.0f} s while "
                    "it had work; it was stopped. Run the job again"
                )
            for connection in ready:
                if connection in by_connection:
                    try:
                        message = connection.recv()
                    except (EOFError, OSError):
                        raise self._died(by_connection[connection]) from None
                    self._dispatch(message)
                    return
            for sentinel in ready:
                worker = by_sentinel[sentinel]
                if not worker.results.poll():
                    raise self._died(worker)

    def _died(self, worker: _Worker) -> PipelineError:
        worker.process.join(1.0)
        return PipelineError(
            f"the CPU pipeline's worker process {worker.process.pid} exited (exit code {worker.process.exitcode}) "
            "before its work was done; the backup stopped without writing its manifest. Run the job again "
            "(an exit code of -9 is usually the task running out of memory)"
        )

    def _dispatch(self, message: tuple) -> None:
        kind, seq = message[0], message[1]
        if kind == "chunked":
            _, _, zero, lengths, digests = message
            self._chunks_outstanding -= 1
            self._chunk_results[seq] = (zero, lengths, digests)
            if zero:
                self._release(seq)
        elif kind == "compressed":
            chunks, store = self._compressions.pop(seq)
            for (digest, raw_length), frame in zip(chunks, message[2], strict=True):
                store(digest, frame, raw_length)
            self._release(seq)
        elif kind == "failed":
            raise PipelineError(f"the CPU pipeline's worker failed on segment #{seq}:\n{message[2]}")
        else:
            raise PipelineError(f"the CPU pipeline's worker sent an unknown answer {kind!r}")

    def _release(self, seq: int) -> None:
        self._owner.pop(seq, None)
        self.in_flight -= 1
