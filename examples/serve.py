"""Batched generation with a paged KV cache, every kernel a tessel op.

A small decoder-only transformer with random weights (RMSNorm, rotary
embeddings, grouped-query attention with head_dim 128, SwiGLU MLP) generates
for several prompts of different lengths, each forked into --samples
sequences that share the prompt's KV blocks (parallel sampling):

- prefill: all prompts' projections in one `tessel.gemm` per weight, one causal
  `tessel.flash_attention_varlen` for all prompts (packed [T, H, D], offsets
  from the prompt lengths), and the prompts' keys and
  values written into the paged cache with `tessel.paged_kv_write`
  (`PagedKVCache.append_slots` + `write`);
- fork: every prompt's sequence is forked into n samples (no copy); the first
  decode step copies each shared, partially filled last block on write
  (`tessel.copy_blocks`);
- decode: one new token per sequence, a fixed batch of prompts x samples
  sequences, `paged_kv_write` then `tessel.paged_attention` per layer with
  block tables padded to a fixed width (one compile for all steps).

Every step's logits are checked against a dense implementation that keeps each
sequence's keys and values in plain arrays (float64 numpy, or torch when it is
installed or on the GPU). Sampling is seeded, different per sample. Prints
the error per step, tokens/s and the share of time in each tessel op.

    python examples/serve.py                        # CPU, small sizes
    python examples/serve.py --device cuda --dtype bf16 --prompts 8 --samples 4 --steps 64

On device="cuda" the block manager checks index arrays on its host copies, so
decode steps add no device-to-host synchronization for the checks (sampling
reads each step's logits back, as any host-side sampler must; --profile
synchronizes around each op to time it).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

import ml_dtypes
import numpy as np

import tessel
from tessel.kvcache import PagedKVCache

DTYPES = {"f32": np.dtype(np.float32), "f16": np.dtype(np.float16),
          "bf16": np.dtype(ml_dtypes.bfloat16)}
TOLERANCE = {"f32": 2e-4, "f16": 2e-2, "bf16": 1e-1}  # max |logit error|; logits are O(1)


@dataclasses.dataclass(frozen=True)
class Config:
    vocab: int = 256
    d_model: int = 256
    heads: int = 4
    kv_heads: int = 2
    head_dim: int = 128
    ffn: int = 512
    layers: int = 2
    eps: float = 1e-5
    rope_base: float = 10000.0


def make_weights(cfg: Config, dtype: np.dtype, seed: int) -> dict:
    """Random weights, rounded to the compute dtype (held as float32 numpy)."""
    rng = np.random.default_rng(seed)

    def w(*shape, scale=None):
        scale = 1.0 / np.sqrt(shape[0]) if scale is None else scale
        return (rng.standard_normal(shape) * scale).astype(dtype).astype(np.float32)

    qkv = (cfg.heads + 2 * cfg.kv_heads) * cfg.head_dim
    weights = {"embed": w(cfg.vocab, cfg.d_model, scale=1.0), "norm": 1 + w(cfg.d_model, scale=0.1),
               "lm_head": w(cfg.d_model, cfg.vocab), "layers": []}
    for _ in range(cfg.layers):
        weights["layers"].append({
            "attn_norm": 1 + w(cfg.d_model, scale=0.1), "wqkv": w(cfg.d_model, qkv),
            "wo": w(cfg.heads * cfg.head_dim, cfg.d_model),
            "mlp_norm": 1 + w(cfg.d_model, scale=0.1), "w_up": w(cfg.d_model, 2 * cfg.ffn),
            "w_down": w(cfg.ffn, cfg.d_model)})
    return weights


# ----------------------------------------------------------- array backends

class Numpy:
    """The few array functions both paths need, on numpy arrays of one float dtype."""

    def __init__(self, float_dtype=np.float32):
        self.float = np.dtype(float_dtype)

    def array(self, x):
        return np.asarray(x, self.float)

    def index(self, idx):
        return np.asarray(idx, np.int64)

    def cat(self, xs, axis=0):
        return np.concatenate(xs, axis)

    def transpose(self, x, axes):
        return np.ascontiguousarray(x.transpose(axes))

    def repeat_heads(self, x, group):
        return np.repeat(x, group, axis=1)

    def mean_last(self, x):
        return x.mean(-1, keepdims=True)

    def max_last(self, x):
        return x.max(-1, keepdims=True)

    def sum_last(self, x):
        return x.sum(-1, keepdims=True)

    exp = staticmethod(np.exp)
    sqrt = staticmethod(np.sqrt)
    einsum = staticmethod(np.einsum)

    def where(self, mask, x, fill):
        return np.where(mask, x, fill)

    def cast(self, x, dtype):
        return x.astype(dtype, copy=False)

    def to_numpy(self, x):
        return np.asarray(x, np.float64)

    def sync(self):
        pass


class Torch(Numpy):
    def __init__(self, device, float_dtype=np.float32):
        import torch

        self.torch, self.device = torch, device
        self.float = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[
            np.dtype(float_dtype)]
        self._dtypes = {DTYPES["f32"]: torch.float32, DTYPES["f16"]: torch.float16,
                        DTYPES["bf16"]: torch.bfloat16}

    def array(self, x):
        if isinstance(x, self.torch.Tensor):
            return x.to(self.device, self.float)
        return self.torch.as_tensor(np.asarray(x, np.float64), device=self.device).to(self.float)

    def index(self, idx):
        return self.torch.as_tensor(np.asarray(idx, np.int64), device=self.device)

    def cat(self, xs, axis=0):
        return self.torch.cat(list(xs), axis)

    def transpose(self, x, axes):
        return x.permute(axes).contiguous()

    def repeat_heads(self, x, group):
        return self.torch.repeat_interleave(x, group, dim=1)

    def mean_last(self, x):
        return x.mean(-1, keepdim=True)

    def max_last(self, x):
        return x.amax(-1, keepdim=True)

    def sum_last(self, x):
        return x.sum(-1, keepdim=True)

    def exp(self, x):
        return self.torch.exp(x)

    def sqrt(self, x):
        return self.torch.sqrt(x)

    def einsum(self, eq, *xs):
        return self.torch.einsum(eq, *xs)

    def where(self, mask, x, fill):
        return self.torch.where(self.torch.as_tensor(mask, device=x.device), x,
                                self.torch.tensor(fill, dtype=x.dtype, device=x.device))

    def cast(self, x, dtype):
        return x.to(self._dtypes.get(np.dtype(dtype), self.float)).contiguous()

    def to_numpy(self, x):
        return x.detach().to(self.torch.float64).cpu().numpy()

    def sync(self):
        self.torch.cuda.synchronize()


def rmsnorm(xp, x, g, eps):
    return x / xp.sqrt(xp.mean_last(x * x) + eps) * g


def silu(xp, x):
    return x / (1 + xp.exp(-x))


def rope_tables(cfg: Config, max_pos: int):
    inv = cfg.rope_base ** (-np.arange(0, cfg.head_dim, 2) / cfg.head_dim)
    angles = np.arange(max_pos)[:, None] * inv[None, :]
    return np.cos(angles), np.sin(angles)


def rope(xp, x, cos, sin):
    """x [T, H, D]; cos, sin [T, D/2] (already gathered at each token's position)."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    c, s = cos[:, None, :], sin[:, None, :]
    return xp.cat([x1 * c - x2 * s, x1 * s + x2 * c], -1)


def softmax_attention(xp, q, k, v, scale):
    """Dense causal attention of one sequence: q [Tq, H, D] (the last Tq of
    the Tk positions), k, v [Tk, Hkv, D] -> [Tq, H, D]."""
    tq, h = q.shape[0], q.shape[1]
    tk = k.shape[0]
    group = h // k.shape[1]
    k, v = xp.repeat_heads(k, group), xp.repeat_heads(v, group)
    s = xp.einsum("qhd,khd->hqk", q, k) * scale
    mask = np.arange(tk)[None, None, :] <= np.arange(tq)[None, :, None] + (tk - tq)
    s = xp.where(mask, s, -np.inf)
    p = xp.exp(s - xp.max_last(s))
    p = p / xp.sum_last(p)
    return xp.einsum("hqk,khd->qhd", p, v)


# ------------------------------------------------------------ dense reference

class Dense:
    """The oracle: each sequence's keys/values in plain per-layer arrays."""

    def __init__(self, cfg: Config, weights: dict, xp, max_pos: int):
        self.cfg, self.xp = cfg, xp
        conv = lambda d: {k: (conv(v) if isinstance(v, dict) else xp.array(v)) for k, v in d.items()}  # noqa: E731
        self.w = {k: v for k, v in conv({k: v for k, v in weights.items() if k != "layers"}).items()}
        self.layers = [conv(layer) for layer in weights["layers"]]
        cos, sin = rope_tables(cfg, max_pos)
        self.cos, self.sin = xp.array(cos), xp.array(sin)

    def forward(self, cache: list, tokens) -> np.ndarray:
        """Runs tokens after the sequence whose per-layer (K, V) are `cache`
        (replaced by the longer arrays); returns the last token's logits."""
        cfg, xp = self.cfg, self.xp
        start = 0 if cache[0] is None else cache[0][0].shape[0]
        pos = xp.index(np.arange(start, start + len(tokens)))
        cos, sin = self.cos[pos], self.sin[pos]
        x = self.w["embed"][xp.index(tokens)]
        hq, hkv, d = cfg.heads, cfg.kv_heads, cfg.head_dim
        for i, w in enumerate(self.layers):
            qkv = rmsnorm(xp, x, w["attn_norm"], cfg.eps) @ w["wqkv"]
            q = rope(xp, qkv[:, :hq * d].reshape(-1, hq, d), cos, sin)
            k = rope(xp, qkv[:, hq * d:(hq + hkv) * d].reshape(-1, hkv, d), cos, sin)
            v = qkv[:, (hq + hkv) * d:].reshape(-1, hkv, d)
            if cache[i] is not None:
                k, v = xp.cat([cache[i][0], k]), xp.cat([cache[i][1], v])
            cache[i] = (k, v)
            o = softmax_attention(xp, q, k, v, 1.0 / np.sqrt(d))
            x = x + o.reshape(-1, hq * d) @ w["wo"]
            gate_up = rmsnorm(xp, x, w["mlp_norm"], cfg.eps) @ w["w_up"]
            x = x + (silu(xp, gate_up[:, :cfg.ffn]) * gate_up[:, cfg.ffn:]) @ w["w_down"]
        return xp.to_numpy(rmsnorm(xp, x[-1:], self.w["norm"], cfg.eps) @ self.w["lm_head"])[0]


# ------------------------------------------------------------- tessel model

class Profile:
    """Time per (phase, tessel op); also the callable PagedKVCache.profiler."""

    def __init__(self, xp, sync: bool):
        self.xp, self.sync, self.phase, self.times, self.calls = xp, sync, "prefill", {}, {}

    def __call__(self, name, fn):
        if self.sync:
            self.xp.sync()
        start = time.perf_counter()
        out = fn()
        if self.sync:
            self.xp.sync()
        key = (self.phase, name)
        self.times[key] = self.times.get(key, 0.0) + time.perf_counter() - start
        self.calls[key] = self.calls.get(key, 0) + 1
        return out

    def table(self, phases, wall: float, say) -> None:
        names = sorted({n for p, n in self.times if p in phases},
                       key=lambda n: -sum(self.times.get((p, n), 0) for p in phases))
        total = 0.0
        for n in names:
            t = sum(self.times.get((p, n), 0.0) for p in phases)
            c = sum(self.calls.get((p, n), 0) for p in phases)
            total += t
            say(f"    {n:<16} {t / wall:6.1%}  {c:5d} calls  {t * 1e3:9.1f} ms")
        say(f"    {'(all tessel ops)':<16} {total / wall:6.1%}")


class TesselModel:
    def __init__(self, cfg: Config, weights: dict, dtype: np.dtype, xp, target: str,
                 kv: PagedKVCache, prof: Profile, max_pos: int):
        self.cfg, self.dtype, self.xp, self.target, self.kv, self.prof = cfg, dtype, xp, target, kv, prof
        cast = lambda a: xp.cast(xp.array(a), dtype)  # noqa: E731  matrices in the compute dtype
        self.embed, self.norm, self.lm_head = (xp.array(weights["embed"]), xp.array(weights["norm"]),
                                               cast(weights["lm_head"]))
        self.layers = [{k: (cast(v) if k.startswith("w") else xp.array(v)) for k, v in layer.items()}
                       for layer in weights["layers"]]
        cos, sin = rope_tables(cfg, max_pos)
        self.cos, self.sin = xp.array(cos), xp.array(sin)

    def gemm(self, x, w):
        x = self.xp.cast(x, self.dtype)
        return self.prof("gemm", lambda: tessel.gemm(x, w, out_dtype=np.float32, target=self.target))

    def forward(self, tokens, positions, slots, lengths=None, batch=None):
        """One step for T tokens: prefill (lengths = tokens per prompt, causal
        varlen flash attention over the packed prompts) or decode (batch: one token per sequence,
        paged attention). Returns float32 logits of each prompt's / sequence's
        last token."""
        cfg, xp, kv = self.cfg, self.xp, self.kv
        hq, hkv, d = cfg.heads, cfg.kv_heads, cfg.head_dim
        pos = xp.index(positions)
        cos, sin = self.cos[pos], self.sin[pos]
        x = self.embed[xp.index(tokens)]
        for i, w in enumerate(self.layers):
            qkv = self.gemm(rmsnorm(xp, x, w["attn_norm"], cfg.eps), w["wqkv"])
            q = rope(xp, qkv[:, :hq * d].reshape(-1, hq, d), cos, sin)
            k = rope(xp, qkv[:, hq * d:(hq + hkv) * d].reshape(-1, hkv, d), cos, sin)
            v = qkv[:, (hq + hkv) * d:].reshape(-1, hkv, d)
            q, k, v = (xp.cast(a, self.dtype) for a in (q, k, v))
            kv.write(slots, k, v, layer=i)  # tessel.paged_kv_write
            if batch is None:
                # All prompts in one call, packed as they are ([T, H, D]);
                # the offsets stay on the host, so checking them reads
                # nothing back from the GPU.
                cu = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
                longest = int(max(lengths))
                o = self.prof("flash_attention_varlen", lambda: tessel.flash_attention_varlen(
                    q, k, v, cu, cu, longest, longest, causal=True, target=self.target))
            else:
                o = kv.attention(q, batch, layer=i)  # tessel.paged_attention
            x = x + self.gemm(o.reshape(-1, hq * d), w["wo"])
            gate_up = self.gemm(rmsnorm(xp, x, w["mlp_norm"], cfg.eps), w["w_up"])
            x = x + self.gemm(silu(xp, gate_up[:, :cfg.ffn]) * gate_up[:, cfg.ffn:], w["w_down"])
        last = xp.index(np.cumsum(lengths) - 1) if batch is None else None
        x = x[last] if last is not None else x
        return self.gemm(rmsnorm(xp, x, self.norm, cfg.eps), self.lm_head)


def sample(logits: np.ndarray, rng: np.random.Generator, temperature: float) -> int:
    z = logits.astype(np.float64) / temperature
    p = np.exp(z - z.max())
    return int(rng.choice(p.size, p=p / p.sum()))


# ----------------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--dtype", default="f32", choices=sorted(DTYPES))
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--prompts", type=int, default=3)
    p.add_argument("--samples", type=int, default=2, help="parallel samples per prompt (n)")
    p.add_argument("--steps", type=int, default=8, help="decode steps")
    p.add_argument("--min-prompt", type=int, default=20, help="shortest prompt; each next is 7 longer")
    p.add_argument("--block-size", type=int, default=16, choices=(8, 16, 32))
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tol", type=float, default=None, help="max |logit error| (default by dtype)")
    p.add_argument("--reference", default="auto", choices=("auto", "numpy", "torch"),
                   help="dense reference backend (auto: torch if installed)")
    p.add_argument("--profile", action=argparse.BooleanOptionalAction, default=None,
                   help="time each op (on the GPU: synchronizes around each op; default on)")
    p.add_argument("--quiet", action="store_true")
    return p.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    say = (lambda *a: None) if args.quiet else print
    dtype = DTYPES[args.dtype]
    target = "cpu" if args.device == "cpu" else "cuda"
    cfg = Config(layers=args.layers)
    xp = Numpy() if target == "cpu" else Torch(args.device)
    use_torch = args.reference == "torch" or (args.reference == "auto" and (
        target == "cuda" or _has_torch()))
    ref_xp = Torch(args.device if target == "cuda" else "cpu", np.float64) if use_torch \
        else Numpy(np.float64)
    tol = TOLERANCE[args.dtype] if args.tol is None else args.tol

    prompt_lens = [args.min_prompt + 7 * i for i in range(args.prompts)]
    rng = np.random.default_rng(args.seed)
    prompts = [rng.integers(0, cfg.vocab, n) for n in prompt_lens]
    max_len = max(prompt_lens) + args.steps
    bs = args.block_size
    max_blocks = -(-max_len // bs)
    num_seqs = args.prompts * args.samples
    weights = make_weights(cfg, dtype, args.seed)
    kv = PagedKVCache(num_seqs * max_blocks, bs, cfg.kv_heads, cfg.head_dim, dtype, args.device,
                      num_layers=cfg.layers, max_blocks_per_seq=max_blocks)
    prof = Profile(xp, sync=target == "cuda" and args.profile is not False)
    kv.profiler = prof
    model = TesselModel(cfg, weights, dtype, xp, target, kv, prof, max_len + 1)
    dense = Dense(cfg, weights, ref_xp, max_len + 1)
    say(f"tessel serve: {cfg.layers} layers, d_model {cfg.d_model}, {cfg.heads} q / {cfg.kv_heads} "
        f"kv heads x {cfg.head_dim}, vocab {cfg.vocab}, {args.dtype} on {args.device}; "
        f"prompts {prompt_lens} x {args.samples} samples, {args.steps} decode steps; "
        f"{kv.num_blocks} blocks of {bs}; reference {'torch' if use_torch else 'numpy'} float64")

    errors, step_times = [], []
    # Prefill: one sequence per prompt, every prompt in one step.
    t0 = time.perf_counter()
    parents = [kv.add_sequence() for _ in prompts]
    slots = kv.append_slots(parents, prompt_lens)
    tokens = np.concatenate(prompts)
    positions = np.concatenate([np.arange(n) for n in prompt_lens])
    logits = xp.to_numpy(model.forward(tokens, positions, slots, lengths=prompt_lens))
    prefill_time = time.perf_counter() - t0
    ref_caches = []
    err = 0.0
    for p, prompt in enumerate(prompts):
        cache = [None] * cfg.layers
        want = dense.forward(cache, prompt)
        ref_caches.append(cache)
        err = max(err, float(np.abs(logits[p] - want).max()))
    errors.append(err)
    say(f"prefill  {sum(prompt_lens):4d} tokens  max|logits err| {err:.2e}  "
        f"{kv.num_blocks - kv.num_free_blocks} blocks used  {prefill_time * 1e3:8.1f} ms")

    # Parallel sampling: fork each prompt into n samples sharing its blocks.
    seqs, rngs, refs, last = [], [], [], []
    for p, parent in enumerate(parents):
        for s in range(args.samples):
            seq = parent if s == 0 else kv.fork(parent)
            seqs.append(seq)
            rngs.append(np.random.default_rng([args.seed, p, s]))
            refs.append(list(ref_caches[p]))  # the dense reference copies nothing either
            last.append(sample(logits[p], rngs[-1], args.temperature))
    generated = [[t] for t in last]
    lengths = np.array([prompt_lens[i // args.samples] for i in range(num_seqs)])

    for step in range(1, args.steps + 1):
        prof.phase = "decode 1" if step == 1 else "decode"
        t0 = time.perf_counter()
        slots = kv.append_slots(seqs)  # copy-on-write of shared last blocks happens here
        batch = kv.batch(seqs)         # fixed [num_seqs, max_blocks]: one signature
        out = model.forward(np.array(last), lengths, slots, batch=batch)
        logits = xp.to_numpy(out)
        step_times.append(time.perf_counter() - t0)
        lengths += 1
        err = 0.0
        for i in range(num_seqs):
            want = dense.forward(refs[i], [last[i]])
            err = max(err, float(np.abs(logits[i] - want).max()))
        errors.append(err)
        last = [sample(logits[i], rngs[i], args.temperature) for i in range(num_seqs)]
        for g, t in zip(generated, last):
            g.append(t)
        used = kv.num_blocks - kv.num_free_blocks
        dense_blocks = int(np.sum(-(-(lengths) // bs)))
        say(f"decode {step:3d} {num_seqs:4d} seqs    max|logits err| {err:.2e}  {used} blocks used "
            f"(unshared: {dense_blocks})  {step_times[-1] * 1e3:8.1f} ms")

    total = prefill_time + sum(step_times)
    decode_tps = num_seqs * args.steps / sum(step_times) if step_times else 0.0
    steady = step_times[1:]
    steady_tps = num_seqs * len(steady) / sum(steady) if steady else decode_tps
    say(f"\nprefill {sum(prompt_lens) / prefill_time:9.1f} tokens/s; decode {decode_tps:9.1f} tokens/s "
        f"({steady_tps:.1f} tokens/s after step 1, which compiles the decode kernels)")
    glue = "numpy" if target == "cpu" else "torch"
    say(f"share of time per tessel op (the rest: {glue} glue, block manager, sampling):")
    say(f"  all steps, first calls' compilation included ({total:.2f} s):")
    prof.table(("prefill", "decode 1", "decode"), total, say)
    if steady:
        say(f"  decode steps 2..{args.steps} ({sum(steady) * 1e3:.1f} ms):")
        prof.table(("decode",), sum(steady), say)
    for p in range(args.prompts):
        for s in range(args.samples):
            i = p * args.samples + s
            say(f"prompt {p} sample {s}: {' '.join(map(str, generated[i]))}")

    for seq in seqs:
        kv.free(seq)
    assert kv.num_free_blocks == kv.num_blocks and not kv.ref_counts().any(), "blocks leaked"
    worst = max(errors)
    result = {"max_error": worst, "errors": errors, "tolerance": tol, "decode_tokens_per_s": decode_tps,
              "op_times": dict(prof.times), "op_calls": dict(prof.calls),
              "steady_tokens_per_s": steady_tps, "tokens": generated}
    if not worst <= tol:
        raise SystemExit(f"FAILED: max |logits error| {worst:.3e} exceeds {tol:.1e}")
    say(f"OK: max |logits error| {worst:.2e} <= {tol:.1e}")
    return result


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main(sys.argv[1:])
