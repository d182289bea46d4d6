"""CUtensorMap parameters without a GPU: the artifact reader's "tensormap"
entries (lib/GPU/Tma.h's host description), the runtime's checks and its
cuTensorMapEncodeTiled call (the driver mocked), the per-pointer cache and
the 128-byte parameter slots. The encodings run on the GPU in
test_gpu_blocks.py (tma_load, tma_store, pipeline)."""

from __future__ import annotations

import ctypes
import types

import pytest
from mlir import ir
from mlir.dialects import gpu  # noqa: F401  (registers gpu.launch_func's OpView)

from tessel.compiler.cuda import artifact
from tessel.ir import context
from tessel.runtime import driver, kernel, tensormap

MAP = ("!nvgpu.tensormap.descriptor<tensor = memref<{box}x{elt}, #gpu.address_space<workgroup>>,"
       " swizzle = {swizzle}, l2promo = {l2}, oob = {oob}, interleave = none>")


def _module(host_body: str, host_args: str, launch_args: str, kernel_args: str, map_type: str):
    return f"""
!map = {map_type}
module attributes {{gpu.container_module}} {{
  gpu.module @m {{
    gpu.func @k({kernel_args}) kernel {{ gpu.return }}
  }}
  func.func @host({host_args}) {{
    %c1 = arith.constant 1 : index
    {host_body}
    gpu.launch_func @m::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args({launch_args})
    return
  }}
}}"""


def _params(text: str):
    with context():
        (k,) = artifact.launches(ir.Module.parse(text))
        return k["params"]


def test_artifact_reads_a_tensor_map_of_an_argument():
    m = MAP.format(box="16x64", elt="f16", swizzle="swizzle_128b", l2="l2promo_128b", oob="nan")
    text = _module("""
    %c16 = arith.constant 16 : index
    %c64 = arith.constant 64 : index
    %cast = memref.cast %a : memref<?x128xf16> to memref<*xf16>
    %d = nvgpu.tma.create.descriptor %cast box[%c16, %c64] : memref<*xf16> -> !map
    %p = builtin.unrealized_conversion_cast %d : !map to !llvm.ptr""",
                   "%a: memref<?x128xf16>, %o: memref<8xf32>", "%p : !llvm.ptr, %o : memref<8xf32>",
                   "%p: !llvm.ptr, %o: memref<8xf32>", m)
    (kind, enc), (kind2, ptr) = _params(text)
    assert kind == "tensormap" and kind2 == "ptr" and ptr == ["ptr", 1]
    assert enc == {"ptr": ["ptr", 0], "dtype": "f16", "dims": [["dim", 0, 0], ["const", 128]],
                   "strides": [["const", 128], ["const", 1]], "box": [16, 64], "swizzle": 128,
                   "interleave": 0, "l2_promotion": 128, "oob_fill": "nan"}


def test_artifact_reads_a_tensor_map_of_a_reinterpreted_argument():
    # A batched view: (batch, rows, cols) with run-time rows and a row pitch.
    m = MAP.format(box="1x64x32", elt="bf16", swizzle="swizzle_64b", l2="none", oob="zero")
    text = _module("""
    %c0 = arith.constant 0 : index
    %c32 = arith.constant 32 : index
    %c64 = arith.constant 64 : index
    %rows = memref.dim %a, %c0 : memref<?x40xbf16>
    %v = memref.reinterpret_cast %a to offset: [0], sizes: [2, %rows, 32], strides: [%c64, 40, 1]
        : memref<?x40xbf16> to memref<2x?x32xbf16, strided<[?, 40, 1]>>
    %cast = memref.cast %v : memref<2x?x32xbf16, strided<[?, 40, 1]>> to memref<*xbf16>
    %d = nvgpu.tma.create.descriptor %cast box[%c1, %c64, %c32] : memref<*xbf16> -> !map
    %p = builtin.unrealized_conversion_cast %d : !map to !llvm.ptr""",
                   "%a: memref<?x40xbf16>", "%p : !llvm.ptr", "%p: !llvm.ptr", m)
    ((kind, enc),) = _params(text)
    assert kind == "tensormap"
    assert enc["ptr"] == ["ptr", 0] and enc["dtype"] == "bf16" and enc["box"] == [1, 64, 32]
    assert enc["dims"] == [["const", 2], ["dim", 0, 0], ["const", 32]]
    assert enc["strides"] == [["const", 64], ["const", 40], ["const", 1]]
    assert enc["swizzle"] == 64


GOOD = dict(arg="a", dtype="f16", ptr=0x10000, dims=[40, 128], strides=[128, 1], box=[16, 64],
            swizzle=128)


@pytest.mark.parametrize("change, message", [
    (dict(ptr=0x10008), "argument 'a' (tensor map): the address 0x10008 is not 16-byte aligned"),
    (dict(strides=[100, 1], dims=[40, 100]), "stride 100 elements (200 bytes) of dimension 0 "
                                             "must be a positive multiple of 16 bytes"),
    (dict(strides=[128, 2]), "the innermost stride is 2 elements"),
    (dict(box=[300, 64]), "box extent 300 of dimension 0 is not in [1, 256]"),
    (dict(box=[16, 4], swizzle=0), "the box's inner extent (4 x 2 bytes) is not a multiple of "
                                   "16 bytes"),
    (dict(box=[16, 128]), "the box's inner extent (128 x 2 = 256 bytes) exceeds the 128-byte "
                          "swizzle span"),
    (dict(dims=[0, 128]), "global extent 0 of dimension 0 is not in [1, 2^32]"),
    (dict(dims=[1] * 6, strides=[1] * 6, box=[1] * 6), "rank 6"),
    (dict(dtype="f8"), "element type 'f8' is not one of"),
    (dict(swizzle=16), "swizzle 16 is not 0, 32, 64 or 128 bytes"),
    (dict(l2_promotion=32), "L2 promotion 32 is not 0, 64, 128 or 256 bytes"),
    (dict(oob_fill="inf"), "out-of-bounds fill 'inf'"),
])
def test_checks_name_the_argument_and_value(change, message):
    with pytest.raises(tensormap.TensorMapError) as err:
        tensormap.check(**dict(GOOD, **change))
    assert message in str(err.value)


class _FakeDriver:
    """cuTensorMapEncodeTiled's signature, recording its arguments."""

    def __init__(self, result="CUDA_SUCCESS"):
        enum = lambda *names: types.SimpleNamespace(**{n: n for n in names})  # noqa: E731
        self.CUtensorMapDataType = enum("CU_TENSOR_MAP_DATA_TYPE_FLOAT16",
                                        "CU_TENSOR_MAP_DATA_TYPE_FLOAT32")
        self.CUtensorMapSwizzle = enum("CU_TENSOR_MAP_SWIZZLE_NONE", "CU_TENSOR_MAP_SWIZZLE_128B")
        self.CUtensorMapInterleave = enum("CU_TENSOR_MAP_INTERLEAVE_NONE")
        self.CUtensorMapL2promotion = enum("CU_TENSOR_MAP_L2_PROMOTION_NONE",
                                           "CU_TENSOR_MAP_L2_PROMOTION_L2_256B")
        self.CUtensorMapFloatOOBfill = enum("CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE")
        self.CUresult = types.SimpleNamespace(CUDA_SUCCESS="CUDA_SUCCESS")
        self.cuuint64_t = self.cuuint32_t = int
        self.result, self.calls = result, []
        self._map = (ctypes.c_uint8 * 128)(*range(128))

    def cuTensorMapEncodeTiled(self, *args):
        self.calls.append(args)
        err = (self.result if self.result == "CUDA_SUCCESS"
               else types.SimpleNamespace(name=self.result))
        return err, types.SimpleNamespace(getPtr=lambda: ctypes.addressof(self._map))


def test_encode_passes_the_driver_its_order(monkeypatch):
    fake = _FakeDriver()
    monkeypatch.setattr(tensormap, "_driver", lambda: fake)
    out = tensormap.encode("a", "f16", 0x10000, [3, 40, 128], [40 * 128, 128, 1], [1, 16, 64],
                           swizzle=128, l2_promotion=256)
    assert out == bytes(range(128))
    ((kind, rank, ptr, dims, strides, box, elem, il, swz, l2, oob),) = fake.calls
    assert (kind, rank, ptr) == ("CU_TENSOR_MAP_DATA_TYPE_FLOAT16", 3, 0x10000)
    # innermost first; byte strides without the innermost one
    assert dims == [128, 40, 3] and strides == [256, 40 * 128 * 2] and box == [64, 16, 1]
    assert elem == [1, 1, 1]
    assert (il, swz, l2, oob) == ("CU_TENSOR_MAP_INTERLEAVE_NONE", "CU_TENSOR_MAP_SWIZZLE_128B",
                                  "CU_TENSOR_MAP_L2_PROMOTION_L2_256B",
                                  "CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE")


def test_an_empty_tensor_maps_a_zeroed_element(monkeypatch):
    # No keys (Skv = 0): the driver refuses extent 0, so the map covers one
    # element of a zeroed scratch buffer, allocated once per context.
    fake = _FakeDriver()
    fake.cuCtxGetCurrent = lambda: ("CUDA_SUCCESS", 7)
    allocs = []
    fake.cuMemAlloc = lambda n: (allocs.append(n), ("CUDA_SUCCESS", 0x90000))[1]
    fake.cuMemsetD8 = lambda ptr, value, n: allocs.append((ptr, value, n))
    monkeypatch.setattr(tensormap, "_driver", lambda: fake)
    monkeypatch.setattr(tensormap, "_ZEROS", {})
    for _ in range(2):
        tensormap.encode("k", "f16", 0, [2, 0, 4, 128], [0, 512, 128, 1], [1, 128, 1, 64],
                         swizzle=128)
    assert allocs == [256, (0x90000, 0, 256)]
    (_, rank, ptr, dims, strides, box, *_), _ = fake.calls
    assert (rank, ptr, dims, strides, box) == (4, 0x90000, [1, 1, 1, 1], [16, 16, 16],
                                              [64, 1, 128, 1])


def test_a_driver_refusal_names_the_argument(monkeypatch):
    monkeypatch.setattr(tensormap, "_driver", lambda: _FakeDriver("CUDA_ERROR_INVALID_VALUE"))
    with pytest.raises(tensormap.TensorMapError, match="argument 'b' .*CUDA_ERROR_INVALID_VALUE"):
        tensormap.encode("b", "f32", 0x10000, [8, 32], [32, 1], [8, 32])


def test_kernel_entry_encodes_per_pointer_once(monkeypatch):
    fake = _FakeDriver()
    monkeypatch.setattr(tensormap, "_driver", lambda: fake)
    entry = kernel.KernelEntry({
        "name": "k", "block": [128, 1, 1], "shared_bytes": 0,
        "grid": [["const", 1]] * 3,
        "params": [["tensormap", {"ptr": ["ptr", 0], "dtype": "f32",
                                  "dims": [["dim", 0, 0], ["dim", 0, 1]],
                                  "strides": [["dim", 0, 1], ["const", 1]], "box": [8, 32],
                                  "swizzle": 0, "interleave": 0, "l2_promotion": 0,
                                  "oob_fill": "zero"}],
                   ["ptr", ["ptr", 1]]]})
    assert entry.pointer_args == [None, 1]
    (index, encoder), = entry.encoders(((56, 32), (8, 32)), ["src", "out"]).items()
    assert index == 0 and encoder.dims == (56, 32) and encoder.strides == (32, 1)
    assert encoder.spec["arg"] == "src"
    for ptr in (0x20000, 0x20000, 0x30000, 0x20000):
        assert encoder([ptr, 0x40000]) == bytes(range(128))
    assert [c[2] for c in fake.calls] == [0x20000, 0x30000]
    with pytest.raises(tensormap.TensorMapError, match="argument 'src'.*0x20004"):
        encoder([0x20004, 0])


def test_tensor_map_slots_are_64_byte_aligned():
    _, params = driver._argument_block(3)
    middle = params[1]
    owner, slots = driver._tensormap_slots(params, [0, 2])
    assert [i for i, _ in slots] == [0, 2]
    assert all(a % 64 == 0 for _, a in slots) and slots[1][1] - slots[0][1] == 128
    assert params[0] == slots[0][1] and params[2] == slots[1][1]
    assert params[1] == middle  # the 8-byte slot between them stays where it was
