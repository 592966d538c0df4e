"""Where PDQ index snapshots are published and found: a local file, or objects in an S3-compatible store.

One machine (the default, `<data_dir>/index`): the snapshot is one file, `pdq.snapshot`, replaced by
rename (see :func:`bastion.matching.snapshot.save`) and memory-mapped where it lies.

Many machines (`BASTION_SNAPSHOT_URL=s3://bucket/prefix`, or any fsspec URL): a publish uploads the
file as an immutable object named by its generation (`pdq-<generation>.snapshot`), then overwrites the
small pointer object `latest.json` that names it. An object store makes each PUT atomic, so a reader
sees the old pointer or the new one, and the object a pointer names is always complete. Readers GET
the pointer (a few hundred bytes) to learn the newest generation, and download a newer object into
their local cache directory (a temporary name, then a rename) before mapping it: `mmap` needs a local
file, and the page cache then shares it between the processes of one machine. Objects older than the
newest `KEEP` are deleted after the pointer has moved, so a reader still downloading the previous one
finishes.

A generation is the change-log position (`signal_changes.seq`) the snapshot includes, so a reader
replays only what was logged after it.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bastion.matching import snapshot
from bastion.matching.live import MIHPDQIndex
from bastion.matching.snapshot import SnapshotError

log = logging.getLogger(__name__)

POINTER = "latest.json"
KEEP = 3
"""Published objects kept in a remote store (the newest, and two a slow reader may still be fetching)."""
_OBJECT = re.compile(r"^pdq-(\d{20})\.snapshot$")


class SnapshotStoreError(SnapshotError):
    """The snapshot store cannot be reached or answered something unusable (the message says which)."""


@dataclass(frozen=True)
class Published:
    """The newest snapshot in a store, as its pointer (or its header) describes it."""

    generation: int
    rows: int
    name: str
    size: int


class SnapshotStore(Protocol):
    """What the matcher needs from wherever snapshots live."""

    lock_file: Path
    """A local file to lock when the database offers no advisory locks (SQLite: one machine)."""

    def latest(self) -> Published | None:
        """The newest published snapshot, or None if there is none yet (raises SnapshotError if unreadable)."""

    def local_copy(self, published: Published) -> Path:
        """A local file holding `published`, ready to be memory-mapped (downloaded first if remote)."""

    def publish(self, index: MIHPDQIndex, generation: int) -> Published:
        """Write `index` as the snapshot of `generation` and make it the newest."""

    def describe(self) -> str:
        """Where the snapshots are, for operators' messages (no credentials)."""


class LocalSnapshotStore:
    """One file, replaced atomically, mapped in place: one machine, or a shared POSIX filesystem."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.lock_file = self.path.parent / ".publish.lock"

    def latest(self) -> Published | None:
        if not self.path.exists():
            return None
        info = snapshot.read_info(self.path)
        return Published(info.generation, info.rows, self.path.name, info.file_size)

    def local_copy(self, published: Published) -> Path:
        return self.path

    def publish(self, index: MIHPDQIndex, generation: int) -> Published:
        info = snapshot.save(index, self.path, generation=generation)
        return Published(info.generation, info.rows, self.path.name, info.file_size)

    def describe(self) -> str:
        return str(self.path)


class RemoteSnapshotStore:
    """Snapshots as immutable objects plus a `latest.json` pointer on any fsspec filesystem (see module doc)."""

    def __init__(self, url: str, cache_dir: Path, **storage_options: Any) -> None:
        from fsspec.core import url_to_fs  # type: ignore[import-untyped]

        self.url = url.rstrip("/")
        self.fs, self.root = url_to_fs(self.url, **storage_options)
        self.cache_dir = Path(cache_dir)
        self.lock_file = self.cache_dir / ".publish.lock"

    def _key(self, name: str) -> str:
        return posixpath.join(self.root, name)

    def latest(self) -> Published | None:
        try:
            raw = self.fs.cat_file(self._key(POINTER))
        except FileNotFoundError:
            return None
        except Exception as exc:  # network, credentials, missing bucket: all mean "cannot use the store now"
            raise self._unreachable(exc) from None
        try:
            doc = json.loads(raw)
            published = Published(int(doc["generation"]), int(doc["rows"]), str(doc["name"]), int(doc["size"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise SnapshotStoreError(f"{self.describe()}/{POINTER} is unreadable ({exc}); publish a new "
                                     "snapshot with `bastion banks snapshot`") from None
        if not _OBJECT.match(published.name):
            raise SnapshotStoreError(f"{self.describe()}/{POINTER} names an unexpected object {published.name!r}")
        return published

    def local_copy(self, published: Published) -> Path:
        target = self.cache_dir / published.name
        if target.exists() and target.stat().st_size == published.size:
            return target  # already fetched (by this process or another on the machine)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{published.name}.", suffix=".part", dir=self.cache_dir)
        os.close(fd)
        try:
            self.fs.get_file(self._key(published.name), tmp)
            if os.path.getsize(tmp) != published.size:
                raise SnapshotStoreError(f"{self.describe()}/{published.name}: downloaded {os.path.getsize(tmp)} "
                                         f"bytes, the pointer says {published.size}")
            os.replace(tmp, target)
        except SnapshotStoreError:
            raise
        except Exception as exc:
            raise self._unreachable(exc) from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        self._prune_cache(keep=target)
        return target

    def publish(self, index: MIHPDQIndex, generation: int) -> Published:
        name = f"pdq-{generation:020d}.snapshot"
        local = self.cache_dir / name
        info = snapshot.save(index, local, generation=generation)  # also this machine's cached copy
        published = Published(info.generation, info.rows, name, info.file_size)
        pointer = json.dumps({"generation": published.generation, "rows": published.rows, "name": name,
                              "size": published.size, "format_version": info.format_version}).encode()
        try:
            self.fs.put_file(str(local), self._key(name))
            self.fs.pipe_file(self._key(POINTER), pointer)  # only now do readers see it
        except Exception as exc:
            raise self._unreachable(exc) from None
        self._prune_remote(keep=name)
        self._prune_cache(keep=local)
        return published

    def _prune_remote(self, keep: str) -> None:
        """Delete published objects beyond the newest KEEP (never the one just published)."""
        try:
            self.fs.invalidate_cache(self.root)
            names = sorted(n for n in (posixpath.basename(p) for p in self.fs.ls(self.root, detail=False))
                           if _OBJECT.match(n))
            for name in names[:-KEEP]:
                if name != keep:
                    self.fs.rm_file(self._key(name))
        except Exception as exc:  # an old object left behind costs storage, nothing else
            log.warning("could not delete old PDQ index snapshots", extra={"store": self.describe(),
                                                                            "error": type(exc).__name__})

    def _prune_cache(self, keep: Path) -> None:
        """Older cached copies go; a process still mapping one keeps its pages until it lets go."""
        for path in self.cache_dir.glob("pdq-*.snapshot"):
            if path.name < keep.name:
                try:
                    path.unlink()
                except OSError:
                    pass

    def _unreachable(self, exc: Exception) -> SnapshotStoreError:
        return SnapshotStoreError(f"the snapshot store {self.describe()} cannot be used ({type(exc).__name__}: "
                                  f"{str(exc)[:200]}); check BASTION_SNAPSHOT_URL, its endpoint and credentials")

    def describe(self) -> str:
        return self.url


def open_store(url: str, *, default_dir: Path, cache_dir: Path, endpoint_url: str = "") -> SnapshotStore:
    """The store `url` names: empty or a plain path is a local directory; anything with a scheme goes through fsspec."""
    if not url:
        return LocalSnapshotStore(default_dir / "pdq.snapshot")
    if url.startswith("file://"):
        url = url.removeprefix("file://")
    if "://" not in url:
        return LocalSnapshotStore(Path(url) / "pdq.snapshot")
    options: dict[str, Any] = {}
    if endpoint_url:
        options["client_kwargs"] = {"endpoint_url": endpoint_url}
    return RemoteSnapshotStore(url, cache_dir, **options)
