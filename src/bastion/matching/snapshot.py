"""Versioned, memory-mappable snapshots of an :class:`MIHPDQIndex` (no pickle).

File layout (all integers little-endian)::

    offset 0   8 bytes   MAGIC  b"\\x89BPDQIX\\n"  (binary-safe, PNG-style)
           8   u32       FORMAT_VERSION
          12   u32       header length H (bytes of JSON)
          16   u32       CRC-32 of the JSON header
          20   u32       reserved (0)
          24   H bytes   JSON header: generation, counts, layout, file size, and
                         for each array: name, dtype, shape, offset, nbytes,
                         SHA-256 and a sampled BLAKE2b digest
          ...  every array raw, starting on a 4096-byte boundary

Loading maps the file read-only and wraps the arrays with ``np.frombuffer``:
nothing is parsed or copied except the (small) delta and tombstones, so a 10M
row snapshot loads in well under a second and every worker process mapping the
same file shares one copy of its pages through the page cache.

Checks on load: magic, version, header CRC, exact file size (catches
truncation), array bounds, and by default a sampled digest per array (first,
last and 14 evenly spaced 4 KiB blocks, so a few dozen page reads). Pass
``verify="full"`` to check every byte against the SHA-256 (reads the whole file).
Any failure raises :class:`SnapshotError` (or a subclass) with the reason.

``save`` writes to a temporary file in the same directory, fsyncs, and renames
over the target, so readers see the old file or the new one, never a torn one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import mmap
import os
import struct
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ._bits import WORDS
from .live import MIHPDQIndex
from .mih import Layout, MIHTables

log = logging.getLogger(__name__)

MAGIC = b"\x89BPDQIX\n"
FORMAT_VERSION = 1
ALIGN = 4096
_PREFIX = struct.Struct("<8sIIII")
_SAMPLE_BLOCK = 4096
_SAMPLE_BLOCKS = 16
_MAX_HEADER = 1 << 20

Verify = Literal["none", "sample", "full"]


class SnapshotError(Exception):
    """A snapshot file cannot be used (the message says why)."""


class SnapshotVersionError(SnapshotError):
    """The file is a snapshot, but of a format version this code cannot read."""


class SnapshotCorruptError(SnapshotError):
    """The file is truncated, or its header or contents fail their checksums."""


@dataclass(frozen=True)
class SnapshotInfo:
    path: Path
    format_version: int
    generation: int
    rows: int
    main_rows: int
    delta_rows: int
    tombstones: int
    m: int
    file_size: int


@dataclass(frozen=True)
class _Section:
    name: str
    dtype: str
    shape: tuple[int, ...]
    offset: int
    nbytes: int
    sha256: str
    sample: str


def _bytes_of(arr: np.ndarray) -> memoryview:
    return memoryview(np.ascontiguousarray(arr).reshape(-1).view(np.uint8))


def _sample_digest(buf: memoryview | bytes) -> str:
    """BLAKE2b of the size plus a fixed sample of 4 KiB blocks (cheap to re-check)."""
    n = len(buf)
    h = hashlib.blake2b(n.to_bytes(8, "little"), digest_size=16)
    if n <= _SAMPLE_BLOCK * _SAMPLE_BLOCKS:
        h.update(buf)
    else:
        last = n - _SAMPLE_BLOCK
        for k in range(_SAMPLE_BLOCKS):
            start = last * k // (_SAMPLE_BLOCKS - 1)
            h.update(buf[start : start + _SAMPLE_BLOCK])
    return h.hexdigest()


def _align(x: int) -> int:
    return -(-x // ALIGN) * ALIGN


# -- save --------------------------------------------------------------------


def save(index: MIHPDQIndex, path: str | os.PathLike[str], *, generation: int | None = None) -> SnapshotInfo:
    """Write ``index`` atomically to ``path``; returns what was written.

    ``generation`` orders snapshots for :class:`SnapshotWatcher` (newer = larger);
    it defaults to the current time in nanoseconds.
    """
    path = Path(path)
    st = index._state  # one consistent view, even with concurrent writers
    gen = time.time_ns() if generation is None else int(generation)
    created = time.time()
    keep = np.ones(st.delta_len, dtype=bool)
    keep[st.delta_dead] = False
    arrays: dict[str, np.ndarray] = {
        "main_ids": st.main.ids,
        "main_words": st.main.words,
        "main_offsets": st.main.offsets,
        "main_postings": st.main.postings,
        "main_dead": st.main_dead,
        "delta_ids": st.delta.ids[: st.delta_len][keep],
        "delta_words": st.delta.words[: st.delta_len][keep],
    }
    sections: list[_Section] = []
    offset = 0  # relative to the data start, fixed up below
    for name, arr in arrays.items():
        buf = _bytes_of(arr)
        sections.append(
            _Section(
                name,
                arr.dtype.str,
                tuple(int(x) for x in arr.shape),
                offset,
                len(buf),
                hashlib.sha256(buf).hexdigest(),
                _sample_digest(buf),
            )
        )
        offset = _align(offset + len(buf))

    def header_for(data_start: int) -> bytes:
        doc: dict[str, Any] = {
            "format": "bastion-pdq-index",
            "format_version": FORMAT_VERSION,
            "generation": gen,
            "created_unix": created,
            "m": st.main.layout.m,
            "layout": "strided",
            "main_rows": st.main.n,
            "delta_rows": int(keep.sum()),
            "tombstones": int(st.main_dead.size),
            "file_size": data_start + (sections[-1].offset + sections[-1].nbytes),
            "sections": [
                {**s.__dict__, "offset": s.offset + data_start, "shape": list(s.shape)}
                for s in sections
            ],
        }
        return json.dumps(doc, sort_keys=True).encode()

    # The header's length depends on the offsets it records; iterate to a fixpoint.
    data_start = ALIGN
    while True:
        header = header_for(data_start)
        needed = _align(_PREFIX.size + len(header))
        if needed <= data_start:
            break
        data_start = needed
    prefix = _PREFIX.pack(MAGIC, FORMAT_VERSION, len(header), zlib.crc32(header), 0)

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(prefix)
            f.write(header)
            for s, arr in zip(sections, arrays.values()):
                f.seek(data_start + s.offset)
                f.write(_bytes_of(arr))
            f.truncate(data_start + sections[-1].offset + sections[-1].nbytes)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
    except BaseException:
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)
    return read_info(path)


def _fsync_dir(directory: Path) -> None:
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


# -- load --------------------------------------------------------------------


def _read_header(f: Any, path: Path, size: int) -> dict[str, Any]:
    raw = f.read(_PREFIX.size)
    if len(raw) < _PREFIX.size:
        if not MAGIC.startswith(raw[: len(MAGIC)]):
            raise SnapshotError(f"{path}: not a Bastion PDQ index snapshot (bad magic bytes)")
        raise SnapshotCorruptError(f"{path}: truncated ({size} bytes, header incomplete)")
    magic, version, header_len, header_crc, _ = _PREFIX.unpack(raw)
    if magic != MAGIC:
        raise SnapshotError(f"{path}: not a Bastion PDQ index snapshot (bad magic bytes)")
    if version != FORMAT_VERSION:
        raise SnapshotVersionError(
            f"{path}: snapshot format version {version}, this build reads only version "
            f"{FORMAT_VERSION}; rebuild the snapshot with a matching Bastion"
        )
    if header_len > _MAX_HEADER:
        raise SnapshotCorruptError(f"{path}: implausible header length {header_len}")
    header = f.read(header_len)
    if len(header) != header_len:
        raise SnapshotCorruptError(f"{path}: truncated ({size} bytes, header incomplete)")
    if zlib.crc32(header) != header_crc:
        raise SnapshotCorruptError(f"{path}: header checksum mismatch")
    try:
        doc = json.loads(header)
    except ValueError as e:
        raise SnapshotCorruptError(f"{path}: unreadable header ({e})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("file_size"), int):
        raise SnapshotCorruptError(f"{path}: header lacks required fields")
    if doc.get("format") != "bastion-pdq-index" or doc.get("format_version") != FORMAT_VERSION:
        raise SnapshotVersionError(f"{path}: header names an unsupported format")
    if doc["file_size"] != size:
        raise SnapshotCorruptError(
            f"{path}: truncated or padded: header says {doc['file_size']} bytes, file has {size}"
        )
    return doc


def _info(path: Path, doc: dict[str, Any]) -> SnapshotInfo:
    return SnapshotInfo(
        path=path,
        format_version=doc["format_version"],
        generation=int(doc["generation"]),
        rows=doc["main_rows"] - doc["tombstones"] + doc["delta_rows"],
        main_rows=doc["main_rows"],
        delta_rows=doc["delta_rows"],
        tombstones=doc["tombstones"],
        m=doc["m"],
        file_size=doc["file_size"],
    )


def read_info(path: str | os.PathLike[str]) -> SnapshotInfo:
    """Validate a snapshot's header (not its arrays) and describe it."""
    path = Path(path)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        return _info(path, _read_header(f, path, size))


def load(path: str | os.PathLike[str], *, verify: Verify = "sample") -> MIHPDQIndex:
    """Map a snapshot read-only and return a ready index (seconds at 10M rows).

    The main tables stay in the shared page cache; only the delta and the
    tombstones are copied. ``index.close()`` (or dropping the index) unmaps.
    """
    path = Path(path)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        doc = _read_header(f, path, size)
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    close = _closer(mm)
    try:
        index = _index_from(mm, doc, path, verify, close)
    except SnapshotError:
        close()
        raise
    except (KeyError, TypeError, ValueError) as e:
        close()
        raise SnapshotCorruptError(f"{path}: inconsistent snapshot ({e!r})") from None
    return index


def _index_from(mm: mmap.mmap, doc: dict[str, Any], path: Path, verify: Verify, close: Any) -> MIHPDQIndex:
    arrays = _map_sections(mm, doc, path, verify)
    main = MIHTables(
        Layout(int(doc["m"])),
        arrays["main_ids"],
        arrays["main_words"],
        arrays["main_offsets"],
        arrays["main_postings"],
    )
    index = MIHPDQIndex._from_parts(
        main,
        arrays["main_dead"],
        arrays["delta_ids"],
        arrays["delta_words"],
        m=None,
        on_close=close,
    )
    index.generation = int(doc["generation"])
    return index


def _closer(mm: mmap.mmap) -> Any:
    def close() -> None:
        try:
            mm.close()
        except BufferError:
            # A query still holds a view; the mapping goes when it finishes.
            pass

    return close


_EXPECTED = {
    "main_ids": ("<i8", 1),
    "main_words": ("<u8", 2),
    "main_offsets": ("<u4", 1),
    "main_postings": ("<u4", 1),
    "main_dead": ("<i8", 1),
    "delta_ids": ("<i8", 1),
    "delta_words": ("<u8", 2),
}


def _map_sections(mm: mmap.mmap, doc: dict[str, Any], path: Path, verify: Verify) -> dict[str, np.ndarray]:
    size = len(mm)
    out: dict[str, np.ndarray] = {}
    for sec in doc["sections"]:
        name, dtype, shape = sec["name"], np.dtype(sec["dtype"]), tuple(sec["shape"])
        if name not in _EXPECTED or (dtype.str, len(shape)) != _EXPECTED[name]:
            raise SnapshotCorruptError(f"{path}: unexpected section {name} {dtype.str} {shape}")
        offset, nbytes = int(sec["offset"]), int(sec["nbytes"])
        if offset % ALIGN or offset + nbytes > size or nbytes != dtype.itemsize * int(np.prod(shape)):
            raise SnapshotCorruptError(f"{path}: section {name} out of bounds")
        view = memoryview(mm)[offset : offset + nbytes]
        if verify == "sample" and _sample_digest(view) != sec["sample"]:
            raise SnapshotCorruptError(f"{path}: section {name} fails its sampled checksum")
        if verify == "full" and hashlib.sha256(view).hexdigest() != sec["sha256"]:
            raise SnapshotCorruptError(f"{path}: section {name} fails its SHA-256")
        view.release()
        arr = np.frombuffer(mm, dtype=dtype, count=int(np.prod(shape)), offset=offset)
        out[name] = arr.reshape(shape)
    missing = set(_EXPECTED) - set(out)
    if missing:
        raise SnapshotCorruptError(f"{path}: missing sections {sorted(missing)}")
    if out["main_words"].shape[1:] != (WORDS,) or out["delta_words"].shape[1:] != (WORDS,):
        raise SnapshotCorruptError(f"{path}: hash arrays have the wrong width")
    return out


# -- watcher -------------------------------------------------------------------


def _identity(path: Path) -> tuple[int, int, int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


class SnapshotWatcher:
    """Serve the newest snapshot at ``path``, swapping when a newer one lands.

    ``save`` replaces the file by rename, so a new snapshot is a new inode:
    ``refresh()`` notices that with one ``stat``, maps the new file, and swaps
    only if its generation is higher. The old index is closed, which unmaps the
    old file once no query uses it, so memory does not climb across reloads (the
    incumbent's pickled index was re-materialised on every reload).

    Readers just use ``watcher.index`` for each query (a single attribute read).
    """

    def __init__(self, path: str | os.PathLike[str], *, verify: Verify = "sample") -> None:
        self.path = Path(path)
        self.verify = verify
        self.last_error: SnapshotError | None = None
        self._ident = _identity(self.path)
        self._index = load(self.path, verify=verify)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def index(self) -> MIHPDQIndex:
        return self._index

    @property
    def generation(self) -> int:
        return self._index.generation

    def refresh(self) -> bool:
        """Swap to a newer snapshot if one is there; True if swapped.

        Raises :class:`SnapshotError` if the file changed but cannot be used;
        the current index stays in service.
        """
        with self._lock:
            try:
                ident = _identity(self.path)
            except FileNotFoundError:
                return False
            if ident == self._ident:
                return False
            info = read_info(self.path)
            if info.generation <= self._index.generation:
                self._ident = ident
                return False
            fresh = load(self.path, verify=self.verify)
            old, self._index, self._ident = self._index, fresh, ident
        old.close()
        log.info("pdq index snapshot %s: generation %d -> %d", self.path, old.generation, fresh.generation)
        return True

    def start(self, interval: float = 5.0) -> None:
        """Poll ``refresh()`` every ``interval`` seconds on a daemon thread."""
        if self._thread is not None:
            return
        self._stop.clear()

        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    self.refresh()
                    self.last_error = None
                except SnapshotError as e:
                    self.last_error = e
                    log.warning("pdq index snapshot refresh failed: %s", e)

        self._thread = threading.Thread(target=run, name="pdq-snapshot-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def close(self) -> None:
        self.stop()
        self._index.close()

    def __enter__(self) -> SnapshotWatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
