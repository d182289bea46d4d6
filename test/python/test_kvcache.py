"""tessel.kvcache.PagedKVCache: unit tests of the block manager and its errors,
and a hypothesis state machine of random add/append/fork/free steps checked
against a dense per-sequence reference."""

import ml_dtypes
import numpy as np
import pytest

import tessel
from tessel import reference as R
from tessel.kvcache import Batch, OutOfBlocksError, PagedKVCache, SlotMapping, UnknownSequenceError

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant,  # noqa: E402
                                 precondition, rule)

HKV, D, BS = 2, 8, 8


def rows(rng, n, dtype=np.float32, hkv=HKV, d=D):
    return rng.standard_normal((n, hkv, d)).astype(dtype)


def snapshot(kv):
    """Everything observable about the manager's state."""
    seqs = {s: (kv.block_table(s), kv.context_len(s),
                [kv.gather(s, layer) for layer in range(kv.num_layers)]) for s in kv.seq_ids}
    return seqs, kv.ref_counts(), kv.free_blocks()


def assert_same_state(a, b):
    (seqs_a, refs_a, free_a), (seqs_b, refs_b, free_b) = a, b
    assert seqs_a.keys() == seqs_b.keys()
    for s in seqs_a:
        ta, la, ca = seqs_a[s]
        tb, lb, cb = seqs_b[s]
        assert (ta, la) == (tb, lb)
        for (ka, va), (kb, vb) in zip(ca, cb):
            np.testing.assert_array_equal(ka, kb)
            np.testing.assert_array_equal(va, vb)
    np.testing.assert_array_equal(refs_a, refs_b)
    assert free_a == free_b


# ---------------------------------------------------------------------- basics

def test_append_fork_copy_on_write():
    rng = np.random.default_rng(0)
    kv = PagedKVCache(6, BS, HKV, D, "f32")
    a = kv.add_sequence()
    prompt_k, prompt_v = rows(rng, 11), rows(rng, 11)
    slots = kv.append([a], prompt_k, prompt_v, num_tokens=[11])
    assert isinstance(slots, SlotMapping) and slots.host.tolist() == list(range(11))
    assert kv.block_table(a) == [0, 1] and kv.num_free_blocks == 4
    b, c = kv.fork(a), kv.fork(a)
    assert kv.block_table(b) == kv.block_table(c) == [0, 1]
    assert kv.ref_counts()[:2].tolist() == [3, 3] and kv.num_free_blocks == 4
    # a and b append into the shared, partially filled block 1: each gets a
    # copy; c, the last holder, keeps block 1. The full block 0 stays shared.
    new_k, new_v = rows(rng, 4), rows(rng, 4)
    kv.append([a, b, c], new_k, new_v, num_tokens=[1, 2, 1])
    assert kv.block_table(a) == [0, 2] and kv.block_table(b) == [0, 3] and kv.block_table(c) == [0, 1]
    assert kv.ref_counts().tolist() == [3, 1, 1, 1, 0, 0]
    want = {a: (0, 1), b: (1, 3), c: (3, 4)}
    for s, (lo, hi) in want.items():
        k, v = kv.gather(s)
        np.testing.assert_array_equal(k, np.concatenate([prompt_k, new_k[lo:hi]]))
        np.testing.assert_array_equal(v, np.concatenate([prompt_v, new_v[lo:hi]]))
    kv.free(a)
    assert kv.ref_counts().tolist() == [2, 1, 0, 1, 0, 0] and kv.num_free_blocks == 3
    kv.free(b)
    kv.free(c)
    assert kv.num_free_blocks == 6 and not kv.ref_counts().any() and len(kv) == 0


def test_append_at_block_boundary_does_not_copy():
    rng = np.random.default_rng(1)
    kv = PagedKVCache(4, BS, HKV, D, "f32")
    a = kv.add_sequence()
    kv.append([a], rows(rng, BS), rows(rng, BS), num_tokens=[BS])
    b = kv.fork(a)
    kv.append([a, b], rows(rng, 2), rows(rng, 2))
    assert kv.block_table(a) == [0, 1] and kv.block_table(b) == [0, 2]
    assert kv.ref_counts().tolist() == [2, 1, 1, 0]


def test_zero_tokens_and_empty_sequences():
    rng = np.random.default_rng(2)
    kv = PagedKVCache(4, BS, HKV, D, "f32")
    a, b = kv.add_sequence(), kv.add_sequence()
    c = kv.fork(b)  # forking an empty sequence shares nothing
    kv.append([a, b], rows(rng, 3), rows(rng, 3), num_tokens=[0, 3])
    assert kv.block_table(a) == [] and kv.context_len(b) == 3 and kv.block_table(c) == []
    k, _ = kv.gather(a)
    assert k.shape == (0, HKV, D)


@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16, np.float32],
                         ids=["f16", "bf16", "f32"])
def test_attention_matches_reference(dtype):
    rng = np.random.default_rng(3)
    kv = PagedKVCache(16, 16, 2, 32, dtype, max_blocks_per_seq=4)
    seqs = [kv.add_sequence() for _ in range(3)]
    kv.append(seqs, rows(rng, 40, dtype, 2, 32), rows(rng, 40, dtype, 2, 32), num_tokens=[5, 17, 18])
    seqs.append(kv.fork(seqs[1]))
    kv.append(seqs, rows(rng, 4, dtype, 2, 32), rows(rng, 4, dtype, 2, 32))
    batch = kv.batch(seqs)
    assert isinstance(batch, Batch) and len(batch) == 4
    assert batch.block_tables.shape == (4, 4) and batch.block_tables.dtype == np.int32
    assert batch.context_lens.tolist() == [6, 18, 19, 18]
    np.testing.assert_array_equal(kv.block_tables(seqs), batch.block_tables)
    np.testing.assert_array_equal(kv.context_lens(seqs), batch.context_lens)
    q = rows(rng, 4, dtype, 8, 32)
    got = kv.attention(q, batch)
    want = R.paged_attention(q, kv.key_cache, kv.value_cache, batch.block_tables, batch.context_lens)
    tol = 1e-4 if dtype == np.float32 else 2e-2
    np.testing.assert_allclose(np.asarray(got, np.float64), want, atol=tol, rtol=tol)
    # the same arrays straight into the op
    np.testing.assert_array_equal(
        tessel.paged_attention(q, kv.key_cache, kv.value_cache, kv.block_tables(seqs),
                               kv.context_lens(seqs)), got)
    assert kv.block_tables(seqs, max_blocks=2).shape == (4, 2)


def test_two_phase_multi_layer():
    rng = np.random.default_rng(4)
    kv = PagedKVCache(8, BS, HKV, D, "f32", num_layers=3)
    a = kv.add_sequence()
    kv.append([a], [rows(rng, 5) for _ in range(3)], [rows(rng, 5) for _ in range(3)],
              num_tokens=[5])
    b = kv.fork(a)
    before = [kv.gather(a, layer) for layer in range(3)]
    slots = kv.append_slots([b, a], [2, 1])  # b copies the shared block on every layer
    assert slots.num_tokens == 3
    new = [(rows(rng, 3), rows(rng, 3)) for _ in range(3)]
    for layer, (k, v) in enumerate(new):
        kv.write(slots, k, v, layer)
    for layer, (k, v) in enumerate(new):
        kb, vb = kv.gather(b, layer)
        np.testing.assert_array_equal(kb, np.concatenate([before[layer][0], k[:2]]))
        ka, va = kv.gather(a, layer)
        np.testing.assert_array_equal(va, np.concatenate([before[layer][1], v[2:]]))
    with pytest.raises(ValueError, match="argument 'key': with num_layers=3, expected a list of 3"):
        kv.append([a], rows(rng, 1), rows(rng, 1))


# ---------------------------------------------------------------------- errors

def test_out_of_blocks_changes_nothing():
    rng = np.random.default_rng(5)
    kv = PagedKVCache(4, BS, HKV, D, "f32", num_layers=2)
    a = kv.add_sequence()
    kv.append([a], [rows(rng, 12)] * 2, [rows(rng, 12)] * 2, num_tokens=[12])
    b, c = kv.fork(a), kv.add_sequence()
    before = snapshot(kv)
    caches = [x.copy() for x in kv.key_caches + kv.value_caches]
    # a: copy of the shared block 1 (1) ; b: fits in block 1 after a's copy (0);
    # c: 17 tokens = 3 blocks. 4 needed, 2 free.
    with pytest.raises(OutOfBlocksError, match=r"needs 4 new block\(s\) but only 2 of 4 are free") as e:
        kv.append([a, b, c], [rows(rng, 19)] * 2, [rows(rng, 19)] * 2, num_tokens=[1, 1, 17])
    assert (e.value.needed, e.value.free) == (4, 2)
    assert_same_state(before, snapshot(kv))
    for x, y in zip(caches, kv.key_caches + kv.value_caches):
        np.testing.assert_array_equal(x, y)  # not even free blocks were touched
    with pytest.raises(OutOfBlocksError):
        kv.append_slots([c], [17])
    assert_same_state(before, snapshot(kv))


def test_max_blocks_per_seq():
    rng = np.random.default_rng(6)
    kv = PagedKVCache(8, BS, HKV, D, "f32", max_blocks_per_seq=2)
    a = kv.add_sequence()
    kv.append([a], rows(rng, 16), rows(rng, 16), num_tokens=[16])
    before = snapshot(kv)
    with pytest.raises(ValueError, match="sequence 0 would grow to 17 tokens = 3 blocks, more than "
                                         r"max_blocks_per_seq \(2\)"):
        kv.append([a], rows(rng, 1), rows(rng, 1))
    assert_same_state(before, snapshot(kv))
    with pytest.raises(ValueError, match=r"argument 'max_blocks': sequence 0 holds 2 blocks, more "
                                         r"than max_blocks \(1\)"):
        kv.batch([a], max_blocks=1)


def test_unknown_and_freed_sequences():
    rng = np.random.default_rng(7)
    kv = PagedKVCache(4, BS, HKV, D, "f32")
    a = kv.add_sequence()
    kv.free(a)
    with pytest.raises(UnknownSequenceError, match="unknown sequence id 0 \\(already freed\\)"):
        kv.free(a)
    with pytest.raises(UnknownSequenceError, match="unknown sequence id 9 \\(never added\\)"):
        kv.fork(9)
    with pytest.raises(KeyError):
        kv.append([9], rows(rng, 1), rows(rng, 1))
    with pytest.raises(UnknownSequenceError, match="argument 'seq_ids': unknown sequence id 0"):
        kv.batch([a])
    with pytest.raises(TypeError, match="argument 'seq_id': expected an integer"):
        kv.fork("0")
    assert kv.num_free_blocks == 4 and len(kv) == 0


def test_bad_append_arguments_change_nothing():
    rng = np.random.default_rng(8)
    kv = PagedKVCache(4, BS, HKV, D, "f16")
    a, b = kv.add_sequence(), kv.add_sequence()
    kv.append([a], rows(rng, 3, np.float16), rows(rng, 3, np.float16), num_tokens=[3])
    before = snapshot(kv)
    k2 = rows(rng, 2, np.float16)
    cases = [
        (([a, b], rows(rng, 2), k2), {}, ValueError, r"argument 'key': dtype f32 does not match the cache \(f16\)"),
        (([a, b], k2, k2.astype(ml_dtypes.bfloat16)), {}, ValueError, "argument 'value': dtype bf16"),
        (([a, b], k2[:1], k2), {}, ValueError, r"argument 'key': expected shape \(2, 2, 8\) = "
                                               r"\[num_tokens, num_kv_heads, head_dim\], got \(1, 2, 8\)"),
        (([a, b], k2, k2), {"num_tokens": [1, 2]}, ValueError, r"argument 'key': expected shape \(3, 2, 8\)"),
        (([a, b], k2, k2), {"num_tokens": [2]}, ValueError, "argument 'num_tokens': expected one count per sequence"),
        (([a, b], k2, k2), {"num_tokens": [3, -1]}, ValueError, r"argument 'num_tokens': entry \[1\] = -1"),
        (([a, a], k2, k2), {}, ValueError, "argument 'seq_ids': sequence 0 is listed more than once"),
        (([a, b], k2.tolist(), k2), {}, TypeError, "argument 'key': device='cpu' caches take numpy arrays"),
        ((a, k2, k2), {}, TypeError, "argument 'seq_ids': expected a list"),
    ]
    for args, kwargs, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            kv.append(*args, **kwargs)
        assert_same_state(before, snapshot(kv))


def test_failed_write_is_undone(monkeypatch):
    """A failure inside paged_kv_write (after allocation and copy-on-write)
    rolls the allocation back."""
    rng = np.random.default_rng(9)
    kv = PagedKVCache(4, BS, HKV, D, "f32", num_layers=2)
    a = kv.add_sequence()
    kv.append([a], [rows(rng, 3)] * 2, [rows(rng, 3)] * 2, num_tokens=[3])
    b = kv.fork(a)
    before = snapshot(kv)
    real = PagedKVCache._launch

    def failing(self, name, *args, **kwargs):
        if name == "paged_kv_write" and self._fail_on_layer1:
            if self._writes == 1:
                raise RuntimeError("injected")
            self._writes += 1
        return real(self, name, *args, **kwargs)

    monkeypatch.setattr(PagedKVCache, "_launch", failing)
    kv._fail_on_layer1, kv._writes = True, 0
    with pytest.raises(RuntimeError, match="injected"):
        kv.append([a, b], [rows(rng, 2)] * 2, [rows(rng, 2)] * 2, num_tokens=[1, 1])
    assert_same_state(before, snapshot(kv))
    kv._fail_on_layer1 = False
    kv.append([a, b], [rows(rng, 2)] * 2, [rows(rng, 2)] * 2, num_tokens=[1, 1])
    assert kv.context_len(a) == kv.context_len(b) == 4


def test_stale_slots_and_batches():
    rng = np.random.default_rng(10)
    kv = PagedKVCache(4, BS, HKV, D, "f32")
    a = kv.add_sequence()
    slots = kv.append_slots([a], [2])
    batch = kv.batch([a])
    kv.write(slots, rows(rng, 2), rows(rng, 2))
    kv.fork(a)
    with pytest.raises(ValueError, match="argument 'slots': stale slot mapping"):
        kv.write(slots, rows(rng, 2), rows(rng, 2))
    with pytest.raises(ValueError, match="argument 'batch': stale batch"):
        kv.attention(rows(rng, 1, np.float32, 4), batch)
    with pytest.raises(ValueError, match="argument 'layer': expected 0 <= layer < 1, got 1"):
        kv.write(kv.append_slots([a]), rows(rng, 1), rows(rng, 1), layer=1)


def test_constructor_errors():
    with pytest.raises(ValueError, match="argument 'block_size': block size .* is 12"):
        PagedKVCache(4, 12, HKV, D)
    with pytest.raises(ValueError, match="argument 'head_dim': head dimension 12 is not supported"):
        PagedKVCache(4, 8, HKV, 12)
    with pytest.raises(ValueError, match="argument 'dtype': i32 is not supported"):
        PagedKVCache(4, 8, HKV, D, np.int32)
    with pytest.raises(ValueError, match="argument 'num_blocks': expected a positive integer"):
        PagedKVCache(0, 8, HKV, D)
    with pytest.raises(ValueError, match="argument 'device': expected 'cpu', 'cuda' or 'cuda:N'"):
        PagedKVCache(4, 8, HKV, D, device="tpu")


def test_import_is_light():
    """tessel.kvcache itself imports neither MLIR nor torch."""
    import subprocess
    import sys
    from pathlib import Path

    import tessel.kvcache as mod

    code = ("import importlib.util, sys, types\n"
            "pkg = types.ModuleType('tessel'); pkg.__path__ = [sys.argv[1]]; sys.modules['tessel'] = pkg\n"
            "import tessel.kvcache\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('mlir', 'torch')]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code, str(Path(mod.__file__).parent)], check=True)


# ------------------------------------------------------------ property testing

NUM_BLOCKS, LAYERS = 10, 2


class KVCacheMachine(RuleBasedStateMachine):
    """Random add/append/fork/free against a dense per-sequence reference:
    seq_id -> per layer, the list of (key row, value row) appended so far."""

    @initialize()
    def setup(self):
        self.kv = PagedKVCache(NUM_BLOCKS, BS, HKV, D, "f32", num_layers=LAYERS)
        self.ref: dict[int, list[list[tuple[np.ndarray, np.ndarray]]]] = {}
        self.counter = 0

    def fresh_rows(self, n):
        """Rows no other token has: a write to a wrong slot cannot go unnoticed."""
        base = self.counter + np.arange(n, dtype=np.float32)[:, None, None]
        self.counter += n
        return base + np.linspace(0, 0.5, HKV * D, dtype=np.float32).reshape(1, HKV, D)

    @rule()
    def add(self):
        s = self.kv.add_sequence()
        assert s not in self.ref
        self.ref[s] = [[] for _ in range(LAYERS)]

    @precondition(lambda self: self.ref)
    @rule(data=st.data())
    def fork(self, data):
        parent = data.draw(st.sampled_from(sorted(self.ref)))
        child = self.kv.fork(parent)
        self.ref[child] = [list(layer) for layer in self.ref[parent]]

    @precondition(lambda self: self.ref)
    @rule(data=st.data())
    def free(self, data):
        s = data.draw(st.sampled_from(sorted(self.ref)))
        self.kv.free(s)
        del self.ref[s]

    @precondition(lambda self: self.ref)
    @rule(data=st.data(), two_phase=st.booleans())
    def append(self, data, two_phase):
        ids = data.draw(st.lists(st.sampled_from(sorted(self.ref)), min_size=1, max_size=4,
                                 unique=True))
        counts = data.draw(st.lists(st.integers(0, 10), min_size=len(ids), max_size=len(ids)))
        total = sum(counts)
        keys = [self.fresh_rows(total) for _ in range(LAYERS)]
        values = [-self.fresh_rows(total) for _ in range(LAYERS)]
        before = snapshot(self.kv)
        try:
            if two_phase:
                slots = self.kv.append_slots(ids, counts)
                for layer in reversed(range(LAYERS)):
                    self.kv.write(slots, keys[layer], values[layer], layer)
            else:
                self.kv.append(ids, keys, values, num_tokens=counts)
        except OutOfBlocksError as e:
            assert e.needed > e.free == self.kv.num_free_blocks
            assert_same_state(before, snapshot(self.kv))
            return
        pos = 0
        for s, n in zip(ids, counts):
            for layer in range(LAYERS):
                self.ref[s][layer] += [(keys[layer][t], values[layer][t]) for t in range(pos, pos + n)]
            pos += n

    @invariant()
    def contents_match_reference(self):
        if not hasattr(self, "kv"):
            return
        assert set(self.kv.seq_ids) == set(self.ref)
        for s, layers in self.ref.items():
            assert self.kv.context_len(s) == len(layers[0])
            for layer, want in enumerate(layers):
                k, v = self.kv.gather(s, layer)
                if want:
                    np.testing.assert_array_equal(k, np.stack([r[0] for r in want]))
                    np.testing.assert_array_equal(v, np.stack([r[1] for r in want]))
                else:
                    assert k.shape[0] == 0

    @invariant()
    def blocks_accounted_for(self):
        if not hasattr(self, "kv"):
            return
        kv = self.kv
        holders = np.zeros(NUM_BLOCKS, np.int64)
        position: dict[int, int] = {}
        for s in kv.seq_ids:
            table = kv.block_table(s)
            assert len(table) == -(-kv.context_len(s) // BS)  # no block allocated ahead
            assert len(set(table)) == len(table)
            for j, b in enumerate(table):
                holders[b] += 1
                # a shared block sits at the same logical position in every table
                assert position.setdefault(b, j) == j
        np.testing.assert_array_equal(kv.ref_counts(), holders)
        free = kv.free_blocks()
        used = set(np.flatnonzero(holders).tolist())
        assert len(free) == len(set(free)) == kv.num_free_blocks
        assert not used & set(free)
        assert len(used) + len(free) == NUM_BLOCKS


KVCacheMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=30,
                                            deadline=None)
TestKVCacheProperties = KVCacheMachine.TestCase


# ------------------------------------------------------------------------- GPU

@pytest.mark.gpu
def test_cuda_path_matches_cpu():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    cpu = PagedKVCache(16, 16, 2, 64, np.float16)
    gpu = PagedKVCache(16, 16, 2, 64, np.float16, device="cuda")
    assert isinstance(gpu.key_cache, torch.Tensor) and gpu.key_cache.is_cuda
    k, v, q = rows(rng, 20, np.float16, 2, 64), rows(rng, 20, np.float16, 2, 64), rows(rng, 3, np.float16, 4, 64)
    try:
        for kv, conv in ((cpu, lambda x: x), (gpu, lambda x: torch.from_numpy(x).cuda())):
            a = kv.add_sequence()
            kv.append([a], conv(k[:17]), conv(v[:17]), num_tokens=[17])
            b, c = kv.fork(a), kv.fork(a)
            kv.append([a, b, c], conv(k[17:]), conv(v[17:]))
            batch = kv.batch([a, b, c])
            assert batch.block_tables.dtype == (np.int32 if kv is cpu else torch.int32)
            out = kv.attention(conv(q), batch)
            kv.out = out if kv is cpu else out.cpu().numpy()
    except NotImplementedError as e:
        pytest.skip(f"no CUDA lowering of the paged ops yet: {e}")
    for s in cpu.seq_ids:
        for x, y in zip(cpu.gather(s), gpu.gather(s)):
            np.testing.assert_array_equal(x, y)
    np.testing.assert_allclose(gpu.out.astype(np.float32), cpu.out.astype(np.float32), atol=2e-2)
