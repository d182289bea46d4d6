"""The main job: build one of each tessel op from Python, verify and print the
IR, then run every op on the CPU (and, with --cuda, the GEMM on the GPU)
and report the error against numpy and the time of each."""

import argparse
import time

import ml_dtypes
import numpy as np
from mlir import ir
from mlir.dialects import func

import tessel
from tessel import reference as R
from tessel.dialects import tessel as T


def build_one_of_each() -> ir.Module:
    ctx = tessel.context()
    types = ["tensor<64x128xf16>", "tensor<128x32xf16>", "tensor<64x32xf32>",
             "tensor<1x8x64x64xbf16>", "tensor<1x2x64x64xbf16>", "tensor<1x8x64x64xbf16>",
             "tensor<1x8x64xf32>", "tensor<4x8x64xf16>", "tensor<32x16x2x64xf16>",
             "tensor<4x8xi32>", "tensor<4xi32>", "tensor<3x2x64xf16>", "tensor<3xi64>",
             "tensor<2x2xi64>"]
    with ctx, ir.Location.unknown():
        module = ir.Module.create()
        with ir.InsertionPoint(module.body):
            fn = func.FuncOp("one_of_each", ir.FunctionType.get([ir.Type.parse(t) for t in types], []))
            with ir.InsertionPoint(fn.add_entry_block()):
                a, b, d, q, kv, o, lse, dq, kc, tables, lens, new, slots, cow = fn.arguments
                T.gemm(a, b, d, alpha=ir.FloatAttr.get_f32(0.5))
                T.flash_attention(q, kv, kv, o, lse=lse, causal=True)
                T.paged_attention(dq, kc, kc, tables, lens, dq)
                T.paged_kv_write(new, new, slots, kc, kc)
                T.copy_blocks(cow, kc, kc)
                func.ReturnOp([])
    module.operation.verify()
    return module


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    first = fn(*args, **kwargs)
    compile_and_run = time.perf_counter() - start
    start = time.perf_counter()
    fn(*args, **kwargs)
    return first, compile_and_run, time.perf_counter() - start


def report(name, got, want, t_first, t_run):
    err = float(np.max(np.abs(np.asarray(got, np.float64) - want)))
    print(f"{name:<44} max|err| {err:9.2e}   first call {t_first * 1e3:8.1f} ms   "
          f"cached call {t_run * 1e3:8.2f} ms")


def run_cpu():
    rng = np.random.default_rng(0)
    print("\n== every op on the CPU (ExecutionEngine) vs numpy (float64)")
    a, b = rng.standard_normal((256, 256), np.float32), rng.standard_normal((256, 256), np.float32)
    d, t1, t2 = timed(tessel.gemm, a, b)
    report("gemm 256x256x256 f32", d, R.gemm(a, b), t1, t2)
    a16, b16 = a[:100, :33].astype(ml_dtypes.bfloat16), b[:33, :17].astype(ml_dtypes.bfloat16)
    d, t1, t2 = timed(tessel.gemm, a16, b16, transpose_b=False, out_dtype=np.float32)
    report("gemm 100x17x33 bf16 -> f32", d, R.gemm(a16, b16), t1, t2)

    q = rng.standard_normal((1, 4, 256, 64), np.float32)
    k = rng.standard_normal((1, 4, 256, 64), np.float32)
    v = rng.standard_normal((1, 4, 256, 64), np.float32)
    o, t1, t2 = timed(tessel.flash_attention, q, k, v)
    report("flash_attention B1 H4 S256 D64 f32", o, R.flash_attention(q, k, v)[0], t1, t2)
    qg = q[:, :, :100].astype(np.float16)
    (o, lse), t1, t2 = timed(tessel.flash_attention, qg, k[:, :2].astype(np.float16),
                             v[:, :2].astype(np.float16), causal=True, return_lse=True)
    ro, rlse = R.flash_attention(qg, k[:, :2].astype(np.float16), v[:, :2].astype(np.float16), causal=True)
    report("flash_attention GQA 4/2 causal Sq100 Skv256 f16", o, ro, t1, t2)

    kc = rng.standard_normal((64, 16, 2, 64)).astype(np.float16)
    vc = rng.standard_normal((64, 16, 2, 64)).astype(np.float16)
    new_k = rng.standard_normal((5, 2, 64)).astype(np.float16)
    new_v = rng.standard_normal((5, 2, 64)).astype(np.float16)
    slots = np.array([17, -1, 130, 131, 1000], np.int64)
    want_k, want_v = R.paged_kv_write(new_k, new_v, kc, vc, slots)
    # In-place ops: the cached call is timed on copies (the same write again).
    spare_k, spare_v = kc.copy(), vc.copy()
    start = time.perf_counter()
    tessel.paged_kv_write(new_k, new_v, kc, vc, slots)
    t1 = time.perf_counter() - start
    start = time.perf_counter()
    tessel.paged_kv_write(new_k, new_v, spare_k, spare_v, slots)
    t2 = time.perf_counter() - start
    report("paged_kv_write 5 tokens (1 skipped)", np.concatenate([kc, vc]),
           np.concatenate([want_k, want_v]), t1, t2)
    mapping = np.array([[1, 40], [8, 41]], np.int64)
    want_k, want_v = R.copy_blocks(kc, vc, mapping)
    spare_k, spare_v = kc.copy(), vc.copy()
    start = time.perf_counter()
    tessel.copy_blocks(kc, vc, mapping)
    t1 = time.perf_counter() - start
    start = time.perf_counter()
    tessel.copy_blocks(spare_k, spare_v, mapping)
    report("copy_blocks 2 pairs", np.concatenate([kc, vc]), np.concatenate([want_k, want_v]),
           t1, time.perf_counter() - start)
    dq = rng.standard_normal((4, 8, 64)).astype(np.float16)
    tables = rng.permutation(64)[:32].reshape(4, 8).astype(np.int32)
    lens = np.array([1, 17, 100, 128], np.int32)
    o, t1, t2 = timed(tessel.paged_attention, dq, kc, vc, tables, lens)
    report("paged_attention 4 seqs GQA 8/2 bs16 f16", o,
           R.paged_attention(dq, kc, vc, tables, lens), t1, t2)


def run_cuda():
    from tessel.runtime import driver

    print("\n== tessel.gemm for the GPU: every rung compiled to PTX (no GPU needed)")
    a_spec, b_spec = tessel.Spec((1024, 1024), "f16"), tessel.Spec((1024, 1024), "f16")
    for rung in ("naive", "smem", "regtile", "pipelined", "mma"):
        start = time.perf_counter()
        kernel = tessel.gemm.compile(a_spec, b_spec, target="cuda", strategy=rung)
        meta = kernel.launch_metadata
        print(f"{rung:<10} {len(kernel.ptx):7d} bytes of PTX  grid {meta['grid']}  block "
              f"{meta['block']}  dynamic shared {meta['shared_bytes']:6d} B  "
              f"compiled in {(time.perf_counter() - start) * 1e3:6.1f} ms (or from the disk cache)")
    if not driver.available():
        print("no NVIDIA GPU/driver here: skipping the GPU run")
        return
    print(f"\n== running on {driver.device_name()}")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1000, 700)).astype(np.float16)
    b = rng.standard_normal((700, 900)).astype(np.float16)
    for rung in ("naive", "smem", "regtile", "pipelined", "mma"):
        got, t1, t2 = timed(tessel.gemm, a, b, target="cuda", strategy=rung, out_dtype=np.float32)
        report(f"gemm 1000x900x700 f16 {rung}", got, R.gemm(a, b), t1, t2)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quiet-ir", action="store_true", help="do not print the built IR")
    args = parser.parse_args()
    module = build_one_of_each()
    print("== one of each tessel op, built with the Python builders and verified")
    if not args.quiet_ir:
        print(module)
    run_cpu()
    run_cuda()


if __name__ == "__main__":
    main()
