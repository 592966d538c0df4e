"""Decoding untrusted images inside a memory budget the server can keep.

An 86 KB PNG can declare 9400 x 9400 pixels; three of them at once took a server to 7 GB. Three
defences, each for what the others cannot do:

1. **A pixel budget per process** (`PixelBudget`). Every decode reserves the pixel count its
   header declares (read without decoding) before it starts; when the budget is spent the upload
   is refused at once with `DecoderBusy` (HTTP 503 and `Retry-After`), never queued without limit.
   Many small pictures run side by side; one huge one runs alone.
2. **Decoder processes with an OS memory cap** (`DecoderPool`). Decoding and hashing run in a
   small pool of worker processes whose address space is capped with `RLIMIT_AS`. A file that
   needs more than the cap fails in its worker (`DecodeOutOfMemory`, HTTP 413) and the server's
   own memory never sees it; a worker that dies is replaced. The workers also spread hashing over
   the machine's cores.
3. The pixel cap itself (`DecodeLimits.max_pixels`, checked from the header first) and reduced
   decoding of very large JPEGs (`bastion.media.decode`).

`configure()` is called once at start-up; without it (tests, the command line) decoding runs in
the calling process with the budget still applied.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import resource
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final


from bastion.media.errors import MediaError
from bastion.media.formats import header_size
from bastion.media.hashing import MediaHashes, hash_media
from bastion.media.limits import DecodeLimits, apply_to_pillow

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS: Final = 2


class DecoderBusy(MediaError):
    """Every decoding slot of this process is in use: the caller should retry shortly."""

    code = "decoder_busy"
    status = 503
    retry_after_seconds = RETRY_AFTER_SECONDS


class DecodeOutOfMemory(MediaError):
    """Decoding needed more memory than a decoder may use."""

    code = "decode_out_of_memory"
    status = 413


class PixelBudget:
    """Pixels being decoded at once in this process, capped; reservations never wait."""

    def __init__(self, pixels: int) -> None:
        self.capacity, self.in_use = pixels, 0
        self._lock = threading.Lock()

    @contextmanager
    def reserve(self, pixels: int) -> Iterator[None]:
        wanted = max(1, min(pixels, self.capacity))  # an image as big as the whole budget runs alone
        with self._lock:
            if self.in_use + wanted > self.capacity:
                raise DecoderBusy(f"The server is decoding as many pixels as it safely can; try again in "
                                  f"{RETRY_AFTER_SECONDS} seconds.")
            self.in_use += wanted
        try:
            yield
        finally:
            with self._lock:
                self.in_use -= wanted


def declared_pixels(data: bytes | bytearray | memoryview) -> int:
    """The pixel count the header declares, read without decoding (0 when unreadable: decoding says why)."""
    size = header_size(data)
    return 0 if size is None else size[0] * size[1]


def _cap_memory(limit_bytes: int) -> None:
    """Worker initializer: the OS refuses this process any allocation past `limit_bytes`."""
    resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))


def _hash_in_worker(data: bytes, limits: DecodeLimits, dihedral: bool, fast: bool) -> MediaHashes:
    apply_to_pillow(limits)  # the worker's own copy of Pillow's process-wide cap
    try:
        return hash_media(data, limits, dihedral, fast=fast)
    except MemoryError:
        raise DecodeOutOfMemory("Decoding this image needs more memory than a decoder may use. Send a smaller "
                                "image (fewer pixels).") from None


@dataclass
class DecoderPool:
    """Worker processes that decode and hash, each under an address-space cap."""

    workers: int
    memory_bytes: int

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # forkserver: workers never inherit the server's threads or open connections
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(["bastion.media.isolation"])
                self._pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_cap_memory,
                                                 initargs=(self.memory_bytes,))
            return self._pool

    def hash(self, data: bytes, limits: DecodeLimits, dihedral: bool, fast: bool) -> MediaHashes:
        future: Future[MediaHashes] = self._executor().submit(_hash_in_worker, bytes(data), limits, dihedral, fast)
        try:
            return future.result()
        except BrokenProcessPool:
            self._replace()
            raise DecodeOutOfMemory("The decoder stopped while decoding this image (it ran out of memory or "
                                    "crashed). Send a smaller image; the server carries on.") from None

    def _replace(self) -> None:
        with self._lock:
            broken, self._pool = self._pool, None
        if broken is not None:
            broken.shutdown(wait=False, cancel_futures=True)
        log.warning("a decoder process died; starting a new pool")

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


#: Pixels in flight per process by default: a few full-size photos, or one image at the pixel cap.
DEFAULT_BUDGET_PIXELS: Final = 120_000_000

_budget = PixelBudget(DEFAULT_BUDGET_PIXELS)
_pool: DecoderPool | None = None


def configure(*, budget_pixels: int, workers: int, memory_mb: int) -> None:
    """Set this process's budget and (with `workers` > 0) its decoder pool; called at start-up.

    Apps built again with the same shape (tests build many) keep the warm pool.
    """
    global _budget, _pool
    _budget = PixelBudget(budget_pixels)
    shape = (workers, memory_mb * 1024 * 1024)
    if _pool is not None and (_pool.workers, _pool.memory_bytes) == shape:
        return
    if _pool is not None:
        _pool.close()
    _pool = DecoderPool(*shape) if workers > 0 else None


def budget() -> PixelBudget:
    return _budget


def hash_untrusted(data: bytes | bytearray | memoryview, limits: DecodeLimits, *, dihedral: bool = False,
                   fast: bool = False) -> MediaHashes:
    """`hash_media` for bytes from outside: within the pixel budget, in a capped worker when configured."""
    limits.check_bytes(memoryview(data).nbytes)
    with _budget.reserve(declared_pixels(data)):
        if _pool is None:
            return hash_media(data, limits, dihedral, fast=fast)
        return _pool.hash(bytes(data), limits, dihedral, fast)


def default_workers() -> int:
    return min(4, os.cpu_count() or 1)
