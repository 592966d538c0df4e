"""Exact multi-index hashing (MIH) over an immutable set of PDQ hashes.

Why it is exact
---------------
Split the 256 bits into ``m`` disjoint substrings. If two hashes are within
distance ``d`` and substring ``i`` differs in more than ``r_i`` bits for every
``i``, the total distance is at least ``sum(r_i + 1)``; so choosing radii with
``sum(r_i + 1) >= d + 1`` guarantees that every match agrees within ``r_i`` bits
on at least one substring ``i`` (the "general pigeonhole" form of Norouzi et
al.'s MIH; with equal radii it is the familiar ``r = floor(d / m)``). We
enumerate every key within ``r_i`` of the query's substring in table ``i``,
take all stored rows in those buckets as candidates, and verify each with the
full 256-bit distance. A radius of -1 skips a table. The planner below picks
the radii that minimise estimated work; when that work exceeds a linear scan
(large thresholds, or a query landing in a hugely skewed bucket) the scan is
used instead. Either way the answer is exact; only the speed changes.

Layout (chosen by measurement, see ``bench/README-index.md``)
------------------------------------------------------------
* Tables are direct-addressed CSR: for table ``t`` of width ``w``, ``offsets``
  holds ``2**w + 1`` uint32 bucket starts and ``postings`` the N row numbers
  sorted by substring value. No per-bucket Python objects; every array is flat,
  so a snapshot can memory-map them as written.
* Substring ``t`` takes bits ``t, t+m, t+2m, ...`` (strided), not a contiguous
  run: PDQ bits are DCT coefficients in a 16x16 grid, and neighbouring
  coefficients tend to correlate on real images. Spreading each substring over
  the grid guards against skewed buckets at no cost (key extraction is one
  gather either way). The benchmark data is synthetic, so this is a precaution,
  not a measured gain.
* ``m`` is chosen from N so that a substring's width is about ``log2(N)``:
  buckets then hold ~1 row and probes and candidates cost about the same (see
  :func:`choose_m` for the measured alternatives). At 10M rows that is m=11
  (23-24-bit tables, 2,866 probes and ~2.9k candidates per query at distance
  31) against FAISS MultiHash's 16x16-bit (272 probes but ~41k candidates).
* Pure numpy, no numba or C extension: a query is ~25 vectorised calls over a
  few thousand probes/candidates, and its time goes to random memory reads
  (offsets, postings, hashes), not interpreter overhead. Measured 3.8-3.9k
  single queries/s at 10M on the 2-core reference machine against a 1,000/s
  target, so a compiled kernel (which would mostly trim the ~30% call
  overhead) was not called for.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np

from ._bits import HASH_BITS, HASH_BYTES, WORDS, ball_size, flip_masks, hamming_pairs, hamming_to_one, popcount64

# Per-item costs used by the planner to pick radii and to decide when a linear
# scan is cheaper; only the ratios matter. Measured at 10M rows (m=11, numpy,
# 2-core EPYC): ~35 ns per probe, ~50 ns per candidate (random gathers dominate),
# ~25 ns per scanned row. E.g. at distance 48 MIH takes 6.6 ms/query vs 254 ms
# for a scan; at 64, 76 ms vs 217 ms, so MIH stays the right choice up to ~64.
C_PROBE_NS = 35.0  # one bucket lookup: offset reads + expansion bookkeeping
C_CANDIDATE_NS = 50.0  # one candidate: posting read, random 32-byte gather, popcount
C_SCAN_NS = 25.0  # one row of the chunked linear scan

MIN_M, MAX_M = 11, 32  # widths 24 .. 8 bits: offsets for 2**24 buckets is the memory cap
SCAN_CHUNK_ROWS = 1 << 18
KEY_CHUNK_ROWS = 1 << 16
BATCH_WORKING_SET = 1 << 16  # probes + candidates handled per vectorised batch step


def choose_m(n: int) -> int:
    """Number of substrings for ``n`` hashes: substring width ~ log2(n).

    That keeps buckets at ~1 row, so probes and candidates cost about the same.
    Measured (bench/README-index.md), distance 31, single queries/s (resident MiB):

    * 10M uniform: m=11 (23-24 bit) 4,507 (1,290); m=12 2,845 (971); m=13 1,864
      (967); m=14 852 (979); m=16 (16-bit, FAISS MultiHash's layout) 949 (1,000).
      Clustered data ranks them the same.
    * 1M uniform: m=11..14 all 7.2-8.9k, m=16 4.9k; m=13 (185 MiB) is chosen,
      m=11 would cost 577 MiB (its offsets do not shrink with N).

    Never below 11 (24-bit tables: 64 MiB of offsets each) nor above 16.
    """
    if n <= 1:
        return 16
    return max(MIN_M, min(16, round(HASH_BITS / math.log2(n))))


class Layout:
    """Which of the 256 hash bits form each of the ``m`` substrings (strided)."""

    __slots__ = ("m", "widths", "_gather")

    def __init__(self, m: int) -> None:
        if not MIN_M <= m <= MAX_M:
            raise ValueError(f"m must be in {MIN_M}..{MAX_M}, got {m}")
        self.m = m
        self.widths = tuple(len(range(t, HASH_BITS, m)) for t in range(m))
        # Each key is assembled as a big-endian uint32: left-pad with the index of
        # an always-zero column (HASH_BITS), then the substring's bit positions.
        gather = np.full((m, 32), HASH_BITS, dtype=np.intp)
        for t in range(m):
            pos = np.arange(t, HASH_BITS, m)
            gather[t, 32 - pos.size :] = pos
        self._gather = gather.reshape(-1)

    def keys(self, hashes_u8: np.ndarray) -> np.ndarray:
        """Substring keys of ``uint8 (n, 32)`` hashes → ``uint32 (n, m)``."""
        n = hashes_u8.shape[0]
        bits = np.zeros((n, HASH_BITS + 1), dtype=np.uint8)
        bits[:, :HASH_BITS] = np.unpackbits(hashes_u8, axis=1)
        # np.take along axis 1 is ~13x faster than bits[:, gather] (measured).
        packed = np.packbits(np.take(bits, self._gather, axis=1), axis=1)
        return np.ascontiguousarray(packed).view(">u4").astype(np.uint32)


def plan_radii(widths: tuple[int, ...], n: int, threshold: int) -> tuple[int, ...] | None:
    """Per-table radii (``-1`` = skip) minimising estimated cost, or None to scan.

    Greedy on marginal cost: every step raises one table's radius by one, until
    ``sum(r_i + 1) == threshold + 1``. Marginal costs grow with the radius (ball
    sizes are convex below width/2), so the greedy choice is the optimum there.
    """
    steps_needed = threshold + 1
    if steps_needed > sum(w + 1 for w in widths):
        return None
    radii = [-1] * len(widths)

    def marginal(t: int) -> float:
        w, r = widths[t], radii[t] + 1
        if r > w:
            return math.inf
        per_probe = C_PROBE_NS + C_CANDIDATE_NS * n / (1 << w)
        return math.comb(w, r) * per_probe

    heap = [(marginal(t), -widths[t], t) for t in range(len(widths))]
    heapq.heapify(heap)
    cost = 0.0
    for _ in range(steps_needed):
        c, negw, t = heapq.heappop(heap)
        if math.isinf(c):
            return None
        cost += c
        radii[t] += 1
        heapq.heappush(heap, (marginal(t), negw, t))
    if cost > n * C_SCAN_NS:
        return None
    return tuple(radii)


@dataclass(frozen=True)
class Plan:
    """The probes one threshold needs, as flat arrays (cached per threshold)."""

    threshold: int
    radii: tuple[int, ...] | None  # None: linear scan
    table: np.ndarray  # (P,) table of each probe
    mask: np.ndarray  # (P,) XOR mask applied to that table's key
    off_base: np.ndarray  # (P,) start of that table in ``offsets``
    post_base: np.ndarray  # (P,) start of that table in ``postings``
    expected_candidates: float = 0.0  # for uniform data

    @property
    def probes(self) -> int:
        return int(self.table.shape[0])


class MIHTables:
    """Immutable exact MIH index over rows ``0..n-1`` (sorted by id).

    Returns *row numbers* and distances; the live index maps rows to ids and
    filters tombstones. Arrays may be in-memory or views into a memory map.
    """

    def __init__(
        self,
        layout: Layout,
        ids: np.ndarray,
        words: np.ndarray,
        offsets: np.ndarray,
        postings: np.ndarray,
    ) -> None:
        n = ids.shape[0]
        sizes = [(1 << w) + 1 for w in layout.widths]
        if words.shape != (n, WORDS) or postings.shape != (layout.m * n,):
            raise ValueError("MIH arrays disagree on the number of rows")
        if offsets.shape != (sum(sizes),):
            raise ValueError("MIH offsets do not match the layout")
        self.layout = layout
        self.ids = ids
        self.words = words
        self.offsets = offsets
        self.postings = postings
        self._off_base = np.concatenate([[0], np.cumsum(sizes[:-1])]).astype(np.int64)
        self._plans: dict[int, Plan] = {}

    # -- construction -------------------------------------------------------

    @classmethod
    def empty(cls, m: int = MAX_M) -> MIHTables:
        """No rows. Default m=32 (8-bit tables) keeps the empty offsets at 33 KB."""
        return cls.build(np.zeros(0, np.int64), np.zeros((0, HASH_BYTES), np.uint8), m=m)

    @classmethod
    def build(cls, ids: np.ndarray, hashes_u8: np.ndarray, m: int | None = None) -> MIHTables:
        """Build from clean ``int64 (n,)`` ids and ``uint8 (n, 32)`` hashes."""
        n = int(ids.shape[0])
        if n >= 1 << 32:
            raise ValueError("MIHTables holds at most 2**32 - 1 rows")
        layout = Layout(m if m is not None else choose_m(n))
        order = np.argsort(ids, kind="stable")
        ids_sorted = np.ascontiguousarray(ids[order], dtype=np.int64)
        hashes = np.take(hashes_u8, order, axis=0)
        del order
        keys = np.empty((layout.m, n), dtype=np.uint32)
        for lo in range(0, n, KEY_CHUNK_ROWS):
            keys[:, lo : lo + KEY_CHUNK_ROWS] = layout.keys(hashes[lo : lo + KEY_CHUNK_ROWS]).T
        offsets = np.empty(sum((1 << w) + 1 for w in layout.widths), dtype=np.uint32)
        postings = np.empty(layout.m * n, dtype=np.uint32)
        base = 0
        for t, w in enumerate(layout.widths):
            counts = np.bincount(keys[t], minlength=1 << w)
            offsets[base] = 0
            np.cumsum(counts, out=offsets[base + 1 : base + (1 << w) + 1])
            postings[t * n : (t + 1) * n] = _bucket_order(keys[t])
            base += (1 << w) + 1
        del keys
        words = hashes.view(np.dtype("<u8"))
        return cls(layout, ids_sorted, words, offsets, postings)

    def appended(self, ids: np.ndarray, hashes_u8: np.ndarray) -> MIHTables | None:
        """These tables plus rows whose ids all exceed every id held, merged without a rebuild.

        The result is array-for-array what `build` gives for the union with the same layout:
        new rows take row numbers ``n..n+k-1`` (ids stay sorted), and within each bucket the
        old postings keep their order followed by the new rows, ascending, exactly as
        `_bucket_order` would place them. Costs one pass over the old postings per table and
        a sort of the new keys only, against a full key computation and two radix sorts of all
        rows per table. None when the merge does not apply (an id not above the current ones).
        """
        k = int(ids.shape[0])
        n = self.n
        if n + k >= 1 << 32:
            raise ValueError("MIHTables holds at most 2**32 - 1 rows")
        order = np.argsort(ids, kind="stable")
        new_ids = np.ascontiguousarray(ids[order], dtype=np.int64)
        if k and n and new_ids[0] <= self.ids[-1]:
            return None
        if k and np.any(new_ids[1:] == new_ids[:-1]):
            return None
        new_hashes = np.ascontiguousarray(np.take(hashes_u8, order, axis=0), dtype=np.uint8)
        layout = self.layout
        new_keys = layout.keys(new_hashes).T if k else np.zeros((layout.m, 0), dtype=np.uint32)
        offsets = np.empty_like(self.offsets)
        postings = np.empty(layout.m * (n + k), dtype=np.uint32)
        base = 0
        for t, w in enumerate(layout.widths):
            size = (1 << w) + 1
            old_off = self.offsets[base : base + size].astype(np.int64)
            new_counts = np.bincount(new_keys[t], minlength=1 << w)
            new_off = np.zeros(size, dtype=np.int64)
            np.cumsum(new_counts, out=new_off[1:])
            offsets[base : base + size] = old_off + new_off
            # Old posting i of bucket b moves up by the new rows of the buckets before b.
            shift = np.repeat(new_off[:-1], np.diff(old_off))
            slot_old = np.arange(n, dtype=np.int64) + shift
            out = postings[t * (n + k) : (t + 1) * (n + k)]
            free = np.ones(n + k, dtype=bool)
            free[slot_old] = False
            out[slot_old] = self.postings[t * n : (t + 1) * n]
            out[free] = _bucket_order(new_keys[t]).astype(np.uint32) + np.uint32(n)
            base += size
        words = np.concatenate([self.words, new_hashes.view(np.dtype("<u8")).reshape(-1, WORDS)])
        return MIHTables(layout, np.concatenate([self.ids, new_ids]), words, offsets, postings)

    # -- introspection ------------------------------------------------------

    @property
    def n(self) -> int:
        return int(self.ids.shape[0])

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.ids, self.words, self.offsets, self.postings))

    def rows_of(self, ids: np.ndarray) -> np.ndarray:
        """Every row whose id is in ``ids`` (rows are sorted by id)."""
        lo = np.searchsorted(self.ids, ids, side="left")
        hi = np.searchsorted(self.ids, ids, side="right")
        lens = hi - lo
        if not lens.any():
            return np.zeros(0, dtype=np.int64)
        return _expand(lo, lens, int(lens.sum()))

    def plan(self, threshold: int) -> Plan:
        plan = self._plans.get(threshold)
        if plan is None:
            plan = self._make_plan(threshold)
            self._plans[threshold] = plan
        return plan

    def _make_plan(self, threshold: int) -> Plan:
        radii = plan_radii(self.layout.widths, self.n, threshold) if self.n else None
        empty = np.zeros(0, dtype=np.int64)
        if radii is None:
            return Plan(threshold, None, empty, empty, empty, empty)
        tables, masks = [], []
        for t, (w, r) in enumerate(zip(self.layout.widths, radii)):
            mk = flip_masks(w, r)
            tables.append(np.full(mk.size, t, dtype=np.int64))
            masks.append(mk)
        table = np.concatenate(tables)
        expected = sum(
            ball_size(w, r) * self.n / (1 << w) for w, r in zip(self.layout.widths, radii)
        )
        return Plan(
            threshold,
            radii,
            table,
            np.concatenate(masks),
            self._off_base[table],
            table * self.n,
            expected,
        )

    # -- search -------------------------------------------------------------

    def _too_many(self, candidates: np.ndarray | int) -> np.ndarray | bool:
        """Would verifying this many candidates cost more than a linear scan?"""
        return candidates * C_CANDIDATE_NS > self.n * C_SCAN_NS

    def search(self, q_u8: np.ndarray, q_words: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows within ``threshold`` of one query → ``(rows int64, distances int64)``, rows unique."""
        plan = self.plan(threshold)
        if plan.radii is None:
            return self.scan(q_words, threshold)
        keys = self.layout.keys(q_u8[None, :])[0].astype(np.int64)
        idx = plan.off_base + (keys[plan.table] ^ plan.mask)
        starts = self.offsets[idx].astype(np.int64)
        lens = self.offsets[idx + 1] - starts
        total = int(lens.sum())
        if self._too_many(total):
            return self.scan(q_words, threshold)
        rows = self.postings[_expand(starts + plan.post_base, lens, total)]
        d = hamming_to_one(np.take(self.words, rows, axis=0), q_words)
        keep = np.flatnonzero(d <= threshold)
        rows, d = rows[keep].astype(np.int64), d[keep]
        if rows.size > 1:
            rows, first = np.unique(rows, return_index=True)
            d = d[first]
        return rows, d

    def search_batch(
        self, q_u8: np.ndarray, q_words: np.ndarray, threshold: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All hits of many queries → ``(query index, row, distance)`` int64 arrays."""
        plan = self.plan(threshold)
        if plan.radii is None:
            return self.scan_batch(q_words, threshold)
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        # Bound the working set (~256k probes + candidates per chunk): bigger
        # chunks only add cache misses (measured: 1000-query chunks at m=16 ran
        # 6x slower per query than single queries).
        step = max(1, int(BATCH_WORKING_SET / (plan.probes + plan.expected_candidates + 1)))
        for lo in range(0, q_u8.shape[0], step):
            qu, qw = q_u8[lo : lo + step], q_words[lo : lo + step]
            keys = self.layout.keys(qu).astype(np.int64)
            idx = plan.off_base + (keys[:, plan.table] ^ plan.mask)
            starts = self.offsets[idx].astype(np.int64)
            lens = self.offsets[idx + 1] - starts
            heavy = np.flatnonzero(self._too_many(lens.sum(axis=1)))
            if heavy.size:
                hq, hr, hd = self.scan_batch(qw[heavy], threshold)
                parts.append((heavy[hq] + lo, hr, hd))
                lens[heavy] = 0
            lens = lens.reshape(-1)
            total = int(lens.sum())
            if total == 0:
                continue
            qrow = np.repeat(np.repeat(np.arange(qu.shape[0]), plan.probes), lens)
            rows = self.postings[_expand((starts + plan.post_base).reshape(-1), lens, total)]
            d = hamming_pairs(np.take(self.words, rows, axis=0), np.take(qw, qrow, axis=0))
            keep = np.flatnonzero(d <= threshold)
            qrow, rows, d = qrow[keep], rows[keep].astype(np.int64), d[keep]
            _, first = np.unique(qrow * self.n + rows, return_index=True)
            parts.append((qrow[first] + lo, rows[first], d[first]))
        return _concat3(parts)

    def scan(self, q_words: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray]:
        """Linear scan for one query (large thresholds, skewed buckets)."""
        rows, ds = [], []
        for lo in range(0, self.n, SCAN_CHUNK_ROWS):
            d = hamming_to_one(self.words[lo : lo + SCAN_CHUNK_ROWS], q_words)
            keep = np.flatnonzero(d <= threshold)
            rows.append(keep + lo)
            ds.append(d[keep])
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(rows), np.concatenate(ds)

    def scan_batch(self, q_words: np.ndarray, threshold: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Linear scan for many queries at once: one pass over the rows."""
        return scan_words_batch(self.words, q_words, threshold)


def scan_words_batch(
    words: np.ndarray, q_words: np.ndarray, threshold: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(query index, row, distance)`` of all pairs within ``threshold``: one pass over ``words``."""
    nq = q_words.shape[0]
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    chunk = max(1024, (1 << 21) // max(nq, 1))
    for lo in range(0, words.shape[0], chunk):
        block = words[lo : lo + chunk]
        d = np.zeros((nq, block.shape[0]), dtype=np.int16)
        for w in range(WORDS):
            d += popcount64(q_words[:, w, None] ^ block[None, :, w])
        qi, ri = np.nonzero(d <= threshold)
        parts.append((qi.astype(np.int64), ri.astype(np.int64) + lo, d[qi, ri].astype(np.int64)))
    return _concat3(parts)


def _bucket_order(keys: np.ndarray) -> np.ndarray:
    """Row numbers grouped by key, ascending rows within a bucket (deterministic).

    Two stable 16-bit passes (numpy radix-sorts 16-bit keys): ~1.1 s vs ~1.9 s
    for one stable argsort of 10M uint32 keys (measured).
    """
    first = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    second = np.argsort((keys >> 16).astype(np.uint16)[first], kind="stable")
    return first[second]


def _expand(starts: np.ndarray, lens: np.ndarray, total: int) -> np.ndarray:
    """Concatenate the integer ranges ``[starts[i], starts[i] + lens[i])``."""
    ends = np.cumsum(lens)
    return np.repeat(starts - (ends - lens), lens) + np.arange(total, dtype=np.int64)


def _concat3(
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not parts:
        z = np.zeros(0, dtype=np.int64)
        return z, z.copy(), z.copy()
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))  # type: ignore[return-value]
