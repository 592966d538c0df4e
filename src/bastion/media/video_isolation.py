"""Decoding untrusted video where a crash, a leak or a hang cannot reach the server.

FFmpeg is large C code fed hostile input; a bad file can make it crash, allocate
without bound or loop. Image decoding has a warm pool of capped workers
(:mod:`bastion.media.isolation`); video uses the same defences with one change:
each video gets a **fresh process**. A video takes seconds to minutes, so the
~50 ms a forkserver child costs is noise, and a fresh process means nothing a
previous file did to the decoder's state (or the heap) carries over.

* The child's address space is capped (``RLIMIT_AS``): an allocation past it fails
  in the child, and the request gets ``too_large``.
* The parent waits at most ``max_decode_seconds`` plus a grace period, then kills
  the child: ``decode_timeout``. (The decoder also checks the time itself between
  packets, which answers the same error without a kill in the common case.)
* A child that dies without answering (a segfault) is reported as a decoder crash;
  the server carries on.
* At most ``video_decode_slots`` videos (default :data:`DEFAULT_VIDEO_SLOTS`) decode at
  once per process, hashing and review frames alike (:func:`video_slot`); in the server
  another is refused at once with ``decoder_busy`` (503, retry later), never queued
  without bound; in a worker it waits for a slot (``configure(wait_seconds=…)``).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, TypeVar

from bastion.media.errors import MediaError, MediaTooLarge
from bastion.media.isolation import DecoderBusy
from bastion.media.video import DEFAULT_SECONDS_PER_HASH, Progress, VideoHashes, hash_video_file
from bastion.media.video_limits import DEFAULT_VIDEO_LIMITS, DecodeTimeout, VideoLimits

T = TypeVar("T")

#: Address-space cap of a video decoder process: frames of 4K video and FFmpeg's threads fit well inside.
DEFAULT_MEMORY_BYTES: Final = 3 * 1024 * 1024 * 1024
#: Seconds the parent waits past ``max_decode_seconds`` before it kills the decoder.
GRACE_SECONDS: Final = 5.0
DEFAULT_VIDEO_SLOTS: Final = 2


class DecoderCrashed(MediaError):
    """The decoder process died without an answer (a crash inside FFmpeg)."""

    code = "unsupported_media"
    status = 415


class VideoSlots:
    """Videos decoding at once in this process, capped.

    A reservation waits at most `wait_seconds` for a free slot (0, the server's default: never,
    so a request is refused at once with ``decoder_busy``; a worker waits, since its task
    would only be retried), then raises :class:`DecoderBusy`.
    """

    def __init__(self, slots: int, wait_seconds: float = 0.0) -> None:
        if slots < 1:
            raise ValueError("a process needs at least one video slot")
        self.capacity, self.in_use, self.wait_seconds = slots, 0, wait_seconds
        self._free = threading.Condition()

    @contextmanager
    def reserve(self) -> Any:
        with self._free:
            if not self._free.wait_for(lambda: self.in_use < self.capacity, timeout=self.wait_seconds):
                raise DecoderBusy("The server is decoding as many videos as it safely can; try again shortly, or "
                                  "send the video to the asynchronous batch API.")
            self.in_use += 1
        try:
            yield
        finally:
            with self._free:
                self.in_use -= 1
                self._free.notify()


_slots = VideoSlots(DEFAULT_VIDEO_SLOTS)


def configure(*, slots: int, wait_seconds: float = 0.0) -> None:
    """Set how many videos this process decodes at once, and how long a decode waits for a slot (at start-up)."""
    global _slots
    _slots = VideoSlots(slots, wait_seconds)


def video_slot() -> Any:
    """A context holding one of this process's video slots: every decode of a video from outside takes one
    (hashing, contact-sheet frames, the silent copy), so the limit bounds all of them together."""
    return _slots.reserve()


def _child(conn: Any, memory_bytes: int, fn: Callable[..., Any], args: tuple[Any, ...],
           kwargs: dict[str, Any], reports: bool = False) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    if reports:  # the work's progress calls go up the pipe as ("progress", args) messages
        kwargs = {**kwargs, "progress": lambda *values: conn.send(("progress", values))}
    try:
        result: tuple[str, Any] = ("ok", fn(*args, **kwargs))
    except MediaError as exc:
        result = ("error", exc)
    except MemoryError:
        result = ("error", MediaTooLarge("Decoding this video needs more memory than a video decoder may use. "
                                         "Send it at a lower resolution."))
    except Exception as exc:  # noqa: BLE001  (anything else FFmpeg raises is a refusal, not a server error)
        result = ("error", DecoderCrashed(f"The video could not be decoded ({type(exc).__name__}). Send the "
                                          "original file, or convert it to MP4 (H.264)."))
    conn.send(result)
    conn.close()


def run_isolated(fn: Callable[..., T], *args: Any, timeout: float, memory_bytes: int = DEFAULT_MEMORY_BYTES,
                 progress: Callable[..., None] | None = None, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a fresh, memory-capped process, killed after ``timeout`` seconds.

    A :class:`MediaError` raised in the child is raised here; a timeout raises :class:`DecodeTimeout`;
    a child that dies without answering raises :class:`DecoderCrashed`. With ``progress``, ``fn`` is
    given a ``progress`` callback whose calls are relayed to it here, in this process.
    """
    deadline = time.monotonic() + timeout
    context = multiprocessing.get_context("forkserver")
    # the image decoder pool shares the forkserver: preload both, whichever starts it
    context.set_forkserver_preload(["bastion.media.isolation", "bastion.media.video_isolation"])
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(send, memory_bytes, fn, args, kwargs, progress is not None),
                              daemon=True)
    process.start()
    send.close()
    try:
        while True:
            if not receive.poll(max(0.0, deadline - time.monotonic())):
                raise DecodeTimeout(f"Decoding took longer than {timeout:.0f} seconds, the limit, so the decoder "
                                    "was stopped. Send a shorter clip or one at a lower resolution.")
            try:
                status, value = receive.recv()
            except EOFError:
                raise DecoderCrashed("The decoder stopped while reading this video (the file made it crash). Send "
                                     "the original file, or convert it to MP4 (H.264); the server carries "
                                     "on.") from None
            if status != "progress":
                break
            if progress is not None:
                progress(*value)
    finally:
        receive.close()
        if process.is_alive():
            process.kill()
        process.join(5)
    if status == "error":
        raise value
    return value  # type: ignore[no-any-return]


def hash_video_untrusted(source: bytes | bytearray | memoryview | str | os.PathLike[str],
                         limits: VideoLimits = DEFAULT_VIDEO_LIMITS, *,
                         seconds_per_hash: float = DEFAULT_SECONDS_PER_HASH,
                         progress: Progress | None = None) -> VideoHashes:
    """vPDQ and digests of a video from outside, decoded in an isolated process.

    ``source`` is the file's bytes (written to a private temporary file, which is removed
    afterwards) or a path to it. ``progress`` is called here as the decoder reports (see
    :data:`bastion.media.video.Progress`).
    """
    with video_slot():
        if isinstance(source, (str, os.PathLike)):
            limits.check_bytes(os.stat(source).st_size)
            return _run(Path(source), limits, seconds_per_hash, progress)
        limits.check_bytes(memoryview(source).nbytes)
        with tempfile.NamedTemporaryFile(prefix="bastion-video-", suffix=".bin") as file:
            file.write(source)
            file.flush()
            return _run(Path(file.name), limits, seconds_per_hash, progress)


def _run(path: Path, limits: VideoLimits, seconds_per_hash: float, progress: Progress | None) -> VideoHashes:
    return run_isolated(hash_video_file, str(path), limits, timeout=limits.max_decode_seconds + GRACE_SECONDS,
                        seconds_per_hash=seconds_per_hash, progress=progress)
