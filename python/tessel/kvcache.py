"""tessel.kvcache: a vLLM-style block manager over tessel's paged KV-cache ops.

    kv = PagedKVCache(num_blocks=64, block_size=16, num_kv_heads=2, head_dim=128,
                      dtype="f16", device="cpu", num_layers=1)
    a = kv.add_sequence()
    kv.append([a], key, value, num_tokens=[7])     # key, value: [7, Hkv, D]
    b = kv.fork(a)                                  # b shares a's blocks
    kv.append([a, b], key2, value2)                 # one token each: copy-on-write
    o = kv.attention(q, kv.batch([a, b]))           # tessel.paged_attention
    kv.free(a); kv.free(b)

Layout. Each layer has a key cache and a value cache
[num_blocks, block_size, num_kv_heads, head_dim] (numpy arrays for
device="cpu", torch tensors for device="cuda"/"cuda:N"); every layer uses the
same block tables, so blocks are allocated once per step for all layers. Token
t of a sequence lives in block table[t // block_size] at offset
t % block_size, i.e. slot = block * block_size + offset.

Sharing. `fork` gives the child the parent's block table and increments the
reference count of each block. A sequence appending into a partially filled
last block that another sequence still holds (reference count > 1) first gets a
fresh block: `tessel.copy_blocks` copies the old block into it (on every layer)
and the old block's count drops by one; the other holders keep the old block.
Full shared blocks are never copied: appends go to new blocks. When several
sequences of one `append` hold the same block, they are handled in the order
given, so the last remaining holder writes in place without a copy.

Appending is all-or-nothing. The slot mapping, the blocks to allocate and the
copy-on-write pairs are computed on the host first; if the free list cannot
cover them, `OutOfBlocksError` names how many blocks were needed and how many
are free, and nothing changes. `append` validates key and value before it
allocates and undoes the allocation if a write fails, so a failed call leaves
every sequence and every block as it was (the only cache memory touched before
a failure is that of blocks still free).

No device-to-host synchronization. The manager keeps host (numpy) copies of
everything the ops index with: block tables, context lengths, reference
counts, slot mappings, copy-on-write pairs. `batch`, `append_slots` and the
copy-on-write step build the index arrays on the host, copy them to the device
(host-to-device, no wait on the GPU), and the ops' value checks (entries in
range, slots written once, distinct copy destinations) run on those host copies:
on device="cuda" the manager compiles each op once per signature, runs
`kernel.opdef.check_values` on its host arrays and launches the kernel with the
device arrays (`kernel.run_validated`), so a decode step reads nothing back
from the GPU. On device="cpu" the ops run as usual (their checks read the same
host arrays).

Multi-layer models write each layer's new keys/values after computing them,
so the step is split in two: `append_slots(seq_ids, num_tokens)` allocates
(atomically) and returns a `SlotMapping`, then `write(slots, key, value,
layer)` per layer. `append` does both for all layers at once.

Importing this module loads neither MLIR nor torch; the ops are imported on
first use and torch only for device="cuda".
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Sequence

import numpy as np

from .ops._base import FLOAT_DTYPES, check_block_size, check_head_dim, dtype_name, normalize_dtype

__all__ = ["Batch", "OutOfBlocksError", "PagedKVCache", "SlotMapping", "UnknownSequenceError"]


class OutOfBlocksError(RuntimeError):
    """Not enough free blocks for an append; nothing was changed.
    `needed` and `free` say how many blocks were needed and were free."""

    def __init__(self, needed: int, free: int, num_blocks: int):
        self.needed, self.free, self.num_blocks = needed, free, num_blocks
        super().__init__(f"out of KV-cache blocks: the append needs {needed} new block(s) but "
                         f"only {free} of {num_blocks} are free; nothing was appended")


class UnknownSequenceError(KeyError):
    """A sequence id that was never added or was already freed."""

    def __str__(self) -> str:  # KeyError would show the repr of the message
        return str(self.args[0])


@dataclasses.dataclass(frozen=True)
class SlotMapping:
    """The slots reserved by one `append_slots` call, for `write`.
    host: int64 numpy [num_tokens]; device: the same on the caches' device."""

    host: np.ndarray
    device: Any
    version: int

    @property
    def num_tokens(self) -> int:
        return int(self.host.shape[0])


@dataclasses.dataclass(frozen=True)
class Batch:
    """Block tables and context lengths of a list of sequences, for
    `paged_attention`: `block_tables` [num_seqs, max_blocks] and `context_lens`
    [num_seqs] as int32 arrays on the caches' device, with their host copies.
    Table rows are padded with block 0 past each sequence's blocks (the op
    reads only the entries covering the context). Valid until the manager
    next changes (append, fork, free)."""

    seq_ids: tuple[int, ...]
    block_tables: Any
    context_lens: Any
    host_block_tables: np.ndarray
    host_context_lens: np.ndarray
    version: int

    def __len__(self) -> int:
        return len(self.seq_ids)


def _ops():
    from .api import copy_blocks, paged_attention, paged_kv_write

    return {"paged_attention": paged_attention, "paged_kv_write": paged_kv_write,
            "copy_blocks": copy_blocks}


def _torch_dtype(torch, dt: np.dtype):
    return {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32}[dtype_name(dt)]


def _parse_device(device) -> tuple[str, str]:
    """(device string, op target)."""
    name = str(device)
    if name == "cpu":
        return name, "cpu"
    if name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit()):
        return name, "cuda"
    raise ValueError(f"argument 'device': expected 'cpu', 'cuda' or 'cuda:N', got {device!r}")


def _positive_int(name: str, value) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"argument '{name}': expected a positive integer, got {value!r}")
    return int(value)


class PagedKVCache:
    """Paged key/value caches plus the block allocator that manages them.

    PagedKVCache(num_blocks, block_size, num_kv_heads, head_dim, dtype="f16",
                 device="cpu", *, num_layers=1, max_blocks_per_seq=None)

    block_size is 8, 16 or 32; head_dim a multiple of 8 up to 256; dtype f16,
    bf16 or f32 (numpy/ml_dtypes/torch dtypes or names). max_blocks_per_seq
    (default num_blocks) bounds each sequence and is the default width of
    `batch`/`block_tables`, so decode steps keep one signature (one compile)
    as sequences grow. See the module docstring for the semantics.
    """

    def __init__(self, num_blocks, block_size, num_kv_heads, head_dim, dtype="f16",
                 device="cpu", *, num_layers=1, max_blocks_per_seq=None):
        self.num_blocks = _positive_int("num_blocks", num_blocks)
        self.block_size = _positive_int("block_size", block_size)
        check_block_size("block_size", self.block_size)
        self.num_kv_heads = _positive_int("num_kv_heads", num_kv_heads)
        self.head_dim = _positive_int("head_dim", head_dim)
        check_head_dim("head_dim", self.head_dim)
        self.num_layers = _positive_int("num_layers", num_layers)
        self.max_blocks_per_seq = (self.num_blocks if max_blocks_per_seq is None else
                                   _positive_int("max_blocks_per_seq", max_blocks_per_seq))
        try:
            self.dtype = normalize_dtype(dtype)
        except TypeError:
            raise ValueError(f"argument 'dtype': not a dtype: {dtype!r}") from None
        if dtype_name(self.dtype) not in FLOAT_DTYPES:
            raise ValueError(f"argument 'dtype': {dtype_name(self.dtype)} is not supported; "
                             "expected one of f16, bf16, f32")
        self.device, self.target = _parse_device(device)
        shape = (self.num_blocks, self.block_size, self.num_kv_heads, self.head_dim)
        if self.target == "cpu":
            self._torch = None
            make = lambda: np.zeros(shape, self.dtype)  # noqa: E731
        else:
            import torch

            self._torch = torch
            tdt = _torch_dtype(torch, self.dtype)
            make = lambda: torch.zeros(shape, dtype=tdt, device=self.device)  # noqa: E731
        self.key_caches = [make() for _ in range(self.num_layers)]
        self.value_caches = [make() for _ in range(self.num_layers)]

        # Host state: the only copies the manager ever reads.
        self._free: list[int] = list(range(self.num_blocks - 1, -1, -1))  # pop() gives block 0 first
        self._refs = np.zeros(self.num_blocks, np.int32)
        self._tables: dict[int, list[int]] = {}
        self._lens: dict[int, int] = {}
        self._next_id = 0
        self._version = 0
        self._kernels: dict = {}
        # profiler(op_name, fn) -> fn(): wraps every tessel op the manager calls.
        self.profiler: Callable[[str, Callable[[], Any]], Any] | None = None

    # ------------------------------------------------------------------ queries
    @property
    def key_cache(self):
        """Layer 0's key cache."""
        return self.key_caches[0]

    @property
    def value_cache(self):
        return self.value_caches[0]

    @property
    def num_free_blocks(self) -> int:
        return len(self._free)

    @property
    def seq_ids(self) -> tuple[int, ...]:
        return tuple(self._tables)

    def __contains__(self, seq_id) -> bool:
        return seq_id in self._tables

    def __len__(self) -> int:
        return len(self._tables)

    def context_len(self, seq_id: int) -> int:
        return self._lens[self._check_id(seq_id)]

    def block_table(self, seq_id: int) -> list[int]:
        """The physical blocks of one sequence, in order (a copy)."""
        return list(self._tables[self._check_id(seq_id)])

    def ref_counts(self) -> np.ndarray:
        """Reference count of every block (a copy): the number of sequences holding it."""
        return self._refs.copy()

    def free_blocks(self) -> list[int]:
        return sorted(self._free)

    def __repr__(self) -> str:
        return (f"PagedKVCache({self.num_blocks} blocks x {self.block_size}, "
                f"{self.num_kv_heads} kv heads x {self.head_dim}, {dtype_name(self.dtype)}, "
                f"{self.device}, {self.num_layers} layer(s); {len(self)} sequences, "
                f"{self.num_free_blocks} blocks free)")

    # ---------------------------------------------------------------- sequences
    def add_sequence(self) -> int:
        """A new empty sequence; returns its id (ids are never reused)."""
        seq_id = self._next_id
        self._next_id += 1
        self._tables[seq_id] = []
        self._lens[seq_id] = 0
        self._version += 1
        return seq_id

    def fork(self, seq_id: int) -> int:
        """A new sequence sharing every block of `seq_id` (no copy, no allocation)."""
        table = self._tables[self._check_id(seq_id)]
        child = self._next_id
        self._next_id += 1
        self._tables[child] = list(table)
        self._lens[child] = self._lens[seq_id]
        if table:
            np.add.at(self._refs, table, 1)
        self._version += 1
        return child

    def free(self, seq_id: int) -> None:
        """Drops a sequence; blocks no other sequence holds go back to the free list."""
        table = self._tables.pop(self._check_id(seq_id))
        del self._lens[seq_id]
        for block in reversed(table):
            self._refs[block] -= 1
            if self._refs[block] == 0:
                self._free.append(block)
        self._version += 1

    def _check_id(self, seq_id, name: str = "seq_id") -> int:
        if isinstance(seq_id, (bool, np.bool_)) or not isinstance(seq_id, (int, np.integer)):
            raise TypeError(f"argument '{name}': expected an integer sequence id, got {seq_id!r}")
        seq_id = int(seq_id)
        if seq_id not in self._tables:
            why = "already freed" if 0 <= seq_id < self._next_id else "never added"
            raise UnknownSequenceError(f"argument '{name}': unknown sequence id {seq_id} ({why})")
        return seq_id

    def _check_ids(self, seq_ids) -> list[int]:
        if isinstance(seq_ids, (int, np.integer)) or not hasattr(seq_ids, "__iter__"):
            raise TypeError(f"argument 'seq_ids': expected a list of sequence ids, got {seq_ids!r}")
        ids = [self._check_id(s, "seq_ids") for s in seq_ids]
        if len(set(ids)) != len(ids):
            dup = next(s for s in ids if ids.count(s) > 1)
            raise ValueError(f"argument 'seq_ids': sequence {dup} is listed more than once")
        return ids

    def _check_counts(self, ids, num_tokens) -> list[int]:
        if num_tokens is None:
            return [1] * len(ids)
        counts = list(num_tokens) if hasattr(num_tokens, "__iter__") else None
        if counts is None or len(counts) != len(ids):
            raise ValueError(f"argument 'num_tokens': expected one count per sequence "
                             f"({len(ids)}), got {num_tokens!r}")
        for i, n in enumerate(counts):
            if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
                raise ValueError(f"argument 'num_tokens': entry [{i}] = {n!r} is not a "
                                 "non-negative integer")
        return [int(n) for n in counts]

    # ---------------------------------------------------------------- appending
    def append_slots(self, seq_ids: Sequence[int], num_tokens: Sequence[int] | None = None
                     ) -> SlotMapping:
        """Reserves num_tokens[i] new tokens at the end of sequence seq_ids[i]
        (default: one each): allocates blocks, does copy-on-write on every
        layer, advances the context lengths, and returns the slots of the new
        tokens, sequences concatenated in the order given, for `write`.
        All-or-nothing: raises OutOfBlocksError (or a ValueError for a sequence
        that would exceed max_blocks_per_seq) and changes nothing."""
        ids = self._check_ids(seq_ids)
        counts = self._check_counts(ids, num_tokens)
        return self._reserve(ids, counts)[0]

    def _reserve(self, ids: list[int], counts: list[int]):
        bs = self.block_size
        # 1. Plan on the host, changing nothing: blocks needed (in order, since
        #    a copy-on-write drops the shared count seen by later sequences).
        dropped: dict[int, int] = {}
        needed = 0
        for s, n in zip(ids, counts):
            if n == 0:
                continue
            length, table = self._lens[s], self._tables[s]
            if length % bs:
                last = table[-1]
                if self._refs[last] - dropped.get(last, 0) > 1:
                    needed += 1
                    dropped[last] = dropped.get(last, 0) + 1
            blocks = -(-(length + n) // bs)
            if blocks > self.max_blocks_per_seq:
                raise ValueError(f"argument 'num_tokens': sequence {s} would grow to "
                                 f"{length + n} tokens = {blocks} blocks, more than "
                                 f"max_blocks_per_seq ({self.max_blocks_per_seq}); "
                                 "nothing was appended")
            needed += blocks - len(table)
        if needed > len(self._free):
            raise OutOfBlocksError(needed, len(self._free), self.num_blocks)

        # 2. The new tables, slots and copy-on-write pairs, still uncommitted.
        take = self._free[len(self._free) - needed:][::-1]  # the blocks pop() would give
        it = iter(take)
        refs = self._refs.copy()
        new_tables: dict[int, list[int]] = {}
        pairs: list[tuple[int, int]] = []
        slots = np.empty(sum(counts), np.int64)
        pos = 0
        for s, n in zip(ids, counts):
            if n == 0:
                continue
            length, table = self._lens[s], list(self._tables[s])
            if length % bs and refs[table[-1]] > 1:
                fresh = next(it)
                pairs.append((table[-1], fresh))
                refs[table[-1]] -= 1
                refs[fresh] += 1
                table[-1] = fresh
            while len(table) * bs < length + n:
                fresh = next(it)
                refs[fresh] += 1
                table.append(fresh)
            t = np.arange(length, length + n)
            slots[pos:pos + n] = np.asarray(table, np.int64)[t // bs] * bs + t % bs
            pos += n
            new_tables[s] = table

        # 3. Copy-on-write into blocks that are still free: a failure here
        #    leaves every sequence's contents as they were.
        if pairs:
            mapping = np.asarray(pairs, np.int64)
            dev = self._to_device(mapping)
            for layer in range(self.num_layers):
                self._launch("copy_blocks", (self.key_caches[layer], self.value_caches[layer], dev),
                             {"block_mapping": mapping})

        # 4. Commit.
        undo = ({s: self._tables[s] for s in new_tables}, {s: self._lens[s] for s in new_tables},
                self._refs, take, self._version)
        del self._free[len(self._free) - needed:]
        self._refs = refs
        for s, n in zip(ids, counts):
            if s in new_tables:
                self._tables[s] = new_tables[s]
                self._lens[s] += n
        self._version += 1
        return SlotMapping(slots, self._to_device(slots), self._version), undo

    def _undo(self, record) -> None:
        tables, lens, refs, take, _ = record
        self._tables.update(tables)
        self._lens.update(lens)
        self._refs = refs
        self._free.extend(reversed(take))
        self._version += 1  # slots and batches made since the reservation are stale

    def write(self, slots: SlotMapping, key, value, layer: int = 0) -> None:
        """Writes the keys/values of the tokens reserved by `append_slots`
        ([slots.num_tokens, Hkv, D] each, in the cache dtype) into one layer
        through tessel.paged_kv_write."""
        if not isinstance(slots, SlotMapping):
            raise TypeError(f"argument 'slots': expected the SlotMapping returned by "
                            f"append_slots, got {type(slots).__name__}")
        if slots.version != self._version:
            raise ValueError("argument 'slots': stale slot mapping (the cache changed since "
                             "append_slots returned it)")
        layer = self._check_layer(layer)
        self._check_kv("key", key, slots.num_tokens)
        self._check_kv("value", value, slots.num_tokens)
        self._write(slots, key, value, layer)

    def _write(self, slots, key, value, layer):
        self._launch("paged_kv_write", (key, value, self.key_caches[layer],
                                        self.value_caches[layer], slots.device),
                     {"slot_mapping": slots.host})

    def append(self, seq_ids: Sequence[int], key, value,
               num_tokens: Sequence[int] | None = None) -> SlotMapping:
        """Appends num_tokens[i] tokens (default: one each) to sequence
        seq_ids[i]. key, value: [sum(num_tokens), Hkv, D] in the cache dtype,
        the sequences' tokens concatenated in the order of seq_ids; with
        num_layers > 1, lists of one such array per layer. Allocates blocks,
        copies shared blocks on write, and writes through
        tessel.paged_kv_write. Atomic: a failed call changes nothing."""
        ids = self._check_ids(seq_ids)
        counts = self._check_counts(ids, num_tokens)
        total = sum(counts)
        keys, values = self._per_layer("key", key), self._per_layer("value", value)
        for layer in range(self.num_layers):
            self._check_kv("key", keys[layer], total, layer)
            self._check_kv("value", values[layer], total, layer)
        slots, record = self._reserve(ids, counts)
        try:
            for layer in range(self.num_layers):
                self._write(slots, keys[layer], values[layer], layer)
        except BaseException:
            self._undo(record)
            raise
        return slots

    def _per_layer(self, name, x) -> list:
        if self.num_layers == 1:
            return [x[0] if isinstance(x, (list, tuple)) and len(x) == 1 else x]
        if not isinstance(x, (list, tuple)) or len(x) != self.num_layers:
            raise ValueError(f"argument '{name}': with num_layers={self.num_layers}, expected a "
                             f"list of {self.num_layers} arrays (one per layer)")
        return list(x)

    def _check_layer(self, layer) -> int:
        if isinstance(layer, (bool, np.bool_)) or not isinstance(layer, (int, np.integer)) \
                or not 0 <= layer < self.num_layers:
            raise ValueError(f"argument 'layer': expected 0 <= layer < {self.num_layers}, "
                             f"got {layer!r}")
        return int(layer)

    def _check_kv(self, name, x, num_tokens, layer=None):
        where = f" (layer {layer})" if layer is not None and self.num_layers > 1 else ""
        if self.target == "cpu" and not isinstance(x, np.ndarray):
            raise TypeError(f"argument '{name}'{where}: device='cpu' caches take numpy "
                            f"arrays, got {type(x).__name__}")
        if not hasattr(x, "shape") or not hasattr(x, "dtype"):
            raise TypeError(f"argument '{name}'{where}: expected an array, got {type(x).__name__}")
        want = (num_tokens, self.num_kv_heads, self.head_dim)
        if tuple(x.shape) != want:
            raise ValueError(f"argument '{name}'{where}: expected shape {want} = [num_tokens, "
                             f"num_kv_heads, head_dim], got {tuple(x.shape)}")
        try:
            dt = normalize_dtype(x.dtype)
        except TypeError:
            dt = None
        if dt != self.dtype:
            got = dtype_name(dt) if dt is not None else str(x.dtype)
            raise ValueError(f"argument '{name}'{where}: dtype {got} does not match the "
                             f"cache ({dtype_name(self.dtype)})")

    # ---------------------------------------------------------------- attention
    def batch(self, seq_ids: Sequence[int], max_blocks: int | None = None) -> Batch:
        """Block tables [len(seq_ids), max_blocks] (default max_blocks_per_seq)
        and context lengths of these sequences, int32 on the caches' device."""
        ids = [self._check_id(s, "seq_ids") for s in seq_ids]
        width = self.max_blocks_per_seq if max_blocks is None else \
            _positive_int("max_blocks", max_blocks)
        tables = np.zeros((len(ids), width), np.int32)
        lens = np.empty(len(ids), np.int32)
        for i, s in enumerate(ids):
            table = self._tables[s]
            if len(table) > width:
                raise ValueError(f"argument 'max_blocks': sequence {s} holds {len(table)} "
                                 f"blocks, more than max_blocks ({width})")
            tables[i, :len(table)] = table
            lens[i] = self._lens[s]
        return Batch(tuple(ids), self._to_device(tables), self._to_device(lens), tables, lens,
                     self._version)

    def block_tables(self, seq_ids: Sequence[int], max_blocks: int | None = None):
        """int32 [len(seq_ids), max_blocks] on the caches' device (see `batch`)."""
        return self.batch(seq_ids, max_blocks).block_tables

    def context_lens(self, seq_ids: Sequence[int]):
        """int32 [len(seq_ids)] on the caches' device."""
        ids = [self._check_id(s, "seq_ids") for s in seq_ids]
        return self._to_device(np.array([self._lens[s] for s in ids], np.int32))

    def attention(self, q, batch: Batch, layer: int = 0, *, scale=None):
        """tessel.paged_attention of q [len(batch), Hq, D] over the batch's
        sequences in one layer; the value checks run on the batch's host copies."""
        if not isinstance(batch, Batch):
            raise TypeError(f"argument 'batch': expected a Batch from PagedKVCache.batch, "
                            f"got {type(batch).__name__}")
        if batch.version != self._version:
            raise ValueError("argument 'batch': stale batch (the cache changed since batch() "
                             "returned it)")
        layer = self._check_layer(layer)
        return self._launch("paged_attention",
                            (q, self.key_caches[layer], self.value_caches[layer],
                             batch.block_tables, batch.context_lens),
                            {"block_tables": batch.host_block_tables,
                             "context_lens": batch.host_context_lens},
                            {} if scale is None else {"scale": scale})

    # ------------------------------------------------------------------ helpers
    def gather(self, seq_id: int, layer: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The keys and values of one sequence, [context_len, Hkv, D] host
        numpy arrays in the cache dtype (for tests and debugging: on a GPU
        this copies from the device)."""
        seq_id, layer = self._check_id(seq_id), self._check_layer(layer)
        t = np.arange(self._lens[seq_id])
        blocks = np.asarray(self._tables[seq_id], np.int64)[t // self.block_size] \
            if t.size else np.zeros(0, np.int64)
        offsets = t % self.block_size
        out = []
        for cache in (self.key_caches[layer], self.value_caches[layer]):
            if self._torch is None:
                out.append(cache[blocks, offsets])
            else:
                torch = self._torch
                x = cache[torch.as_tensor(blocks, device=cache.device),
                          torch.as_tensor(offsets, device=cache.device)].cpu()
                if x.dtype == torch.bfloat16:
                    out.append(x.view(torch.int16).numpy().view(self.dtype))
                else:
                    out.append(x.numpy())
        return out[0], out[1]

    def _to_device(self, host: np.ndarray):
        if self._torch is None:
            return host
        # From pageable memory the copy is staged at once: no wait on the GPU.
        return self._torch.from_numpy(host).to(self.device, non_blocking=True)

    def _launch(self, name: str, args: tuple, host: dict, options: dict | None = None):
        options = options or {}
        if self.target == "cpu":
            op = _ops()[name]
            run = lambda: op(*args, target="cpu", **options)  # noqa: E731
        else:
            key = (name, tuple((tuple(a.shape), str(a.dtype)) for a in args),
                   tuple(sorted(options.items())))
            kernel = self._kernels.get(key)
            if kernel is None:
                kernel = _ops()[name].compile(*args, target="cuda", **options)
                self._kernels[key] = kernel
            arrays = dict(zip(kernel.opdef.params, args))
            kernel.opdef.check_values(kernel.signature, {**arrays, **host})  # host copies only
            run = lambda: kernel.run_validated(arrays)  # noqa: E731
        if self.profiler is not None:
            return self.profiler(name, run)
        return run()
