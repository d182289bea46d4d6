"""The launch path's argument block without a GPU: a fake driver records
what cuLaunchKernel would read (the 64-bit slots and the tensor maps passed
by value), so that the per-call shortcuts (fixed slots written once, maps
re-encoded only when their pointer changes) are checked in CI."""
import ctypes

import pytest

from tessel.runtime import driver


class FakeDriver:
    class CUresult:
        CUDA_SUCCESS = 0

    def __init__(self):
        self.launches = []
        self.early = []
        self.wide = {}

    def cuLaunchKernel(self, handle, gx, gy, gz, bx, by, bz, shared, stream, address, extra):
        n = self.nargs
        params = (ctypes.c_void_p * n).from_address(address)
        slots = []
        for i in range(n):
            if i in self.wide:
                slots.append(ctypes.string_at(params[i], 128))
            else:
                slots.append(ctypes.c_uint64.from_address(params[i]).value)
        self.launches.append(((gx, gy, gz), (bx, by, bz), stream, slots))
        return (0,)

    def cuCtxSetCurrent(self, ctx):
        return (0,)

    # cuLaunchKernelEx and its configuration types (PDL launches).
    class CUlaunchConfig:
        attrs, numAttrs, hStream = (), 0, None

    class CUlaunchAttribute:
        def __init__(self):
            self.id, self.value = None, type("Value", (), {})()

    class CUlaunchAttributeID:
        CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION = "pss"

    class CUstream(int):
        pass

    def cuLaunchKernelEx(self, cfg, handle, address, extra):
        (attr,) = cfg.attrs[:cfg.numAttrs]
        self.early.append((attr.id, attr.value.programmaticStreamSerializationAllowed,
                           int(cfg.hStream)))
        return self.cuLaunchKernel(handle, cfg.gridDimX, cfg.gridDimY, cfg.gridDimZ,
                                   cfg.blockDimX, cfg.blockDimY, cfg.blockDimZ,
                                   cfg.sharedMemBytes, int(cfg.hStream), address, extra)


class CountingEncoder:
    """Stands in for tensormap.Encoder: 128 bytes that name the pointer."""

    def __init__(self, pointer_arg):
        self.pointer_arg, self.calls = pointer_arg, 0

    def __call__(self, ptrs):
        self.calls += 1
        p = ptrs[self.pointer_arg if self.pointer_arg is not None else 0] + (
            0 if self.pointer_arg is not None else 1)
        return p.to_bytes(8, "little") * 16


@pytest.fixture
def fake(monkeypatch):
    drv = FakeDriver()
    monkeypatch.setattr(driver, "_driver", lambda: drv)
    monkeypatch.setattr(driver, "_context", lambda index=0: (None, None))
    return drv


def test_fixed_slots_once_pointers_and_maps_per_call(fake):
    fake.nargs, fake.wide = 5, {2, 4}
    by_pointer, by_expression = CountingEncoder(0), CountingEncoder(None)
    launch = driver.launcher(driver.Function(1, "k", 0), (3, 2, 1), (128, 1, 1), 0, 5,
                             fixed=[(0, 7)], pointers=[(1, 0), (3, 1)],
                             maps=[(2, by_pointer), (4, by_expression)])
    launch([0x1000, 0x2000], 11)
    launch([0x1000, 0x3000], 12)
    launch([0x5000, 0x3000], 13)
    assert [(g, s) for g, _, s, _ in fake.launches] == [((3, 2, 1), 11), ((3, 2, 1), 12),
                                                        ((3, 2, 1), 13)]
    first, second, third = (slots for *_, slots in fake.launches)
    assert first[0] == second[0] == third[0] == 7
    assert (first[1], first[3]) == (0x1000, 0x2000)
    assert (second[1], second[3]) == (0x1000, 0x3000)
    assert third[1] == 0x5000
    assert first[2] == second[2] == (0x1000).to_bytes(8, "little") * 16
    assert third[2] == (0x5000).to_bytes(8, "little") * 16
    assert third[4] == (0x5001).to_bytes(8, "little") * 16
    # The pointer's map was encoded only when the pointer changed; a map
    # over an expression is encoded on every call.
    assert by_pointer.calls == 2 and by_expression.calls == 3


def test_a_failed_encoding_is_retried_on_the_next_call(fake):
    fake.nargs, fake.wide = 1, {0}

    class Flaky(CountingEncoder):
        def __call__(self, ptrs):
            if ptrs[0] % 16:
                raise ValueError("argument 'a' (tensor map): not 16-byte aligned")
            return super().__call__(ptrs)

    enc = Flaky(0)
    launch = driver.launcher(driver.Function(1, "k", 0), (1, 1, 1), (32, 1, 1), 0, 1,
                             maps=[(0, enc)])
    with pytest.raises(ValueError, match="16-byte aligned"):
        launch([0x1008], 0)
    assert not fake.launches
    launch([0x1000], 0)
    launch([0x1008 + 8], 0)
    assert [s[0] for *_, s in fake.launches] == [(0x1000).to_bytes(8, "little") * 16,
                                                (0x1010).to_bytes(8, "little") * 16]


def test_encoder_knows_its_pointer_argument():
    from tessel.runtime import tensormap

    spec = dict(ptr=["ptr", 2], dtype="f16", box=[64, 64])
    assert tensormap.Encoder(spec, lambda p, s: p[2], [128, 128], [128, 1]).pointer_arg == 2
    spec = dict(spec, ptr=["add", ["ptr", 2], ["const", 64]])
    assert tensormap.Encoder(spec, lambda p, s: p[2] + 64, [128, 128],
                             [128, 1]).pointer_arg is None


def test_a_kernel_that_waits_for_the_grid_before_it_is_launched_early(fake, monkeypatch):
    # Programmatic stream serialization on each launch of such a kernel, the
    # argument block and the stream as in a plain launch; TESSEL_PDL=0 and
    # kernels without the wait take cuLaunchKernel.
    fake.nargs = 2
    launch = driver.launcher(driver.Function(1, "k", 0), (4, 1, 2), (256, 1, 1), 1024, 2,
                             fixed=[(0, 9)], pointers=[(1, 0)], early=True)
    launch([0x1000], 5)
    launch([0x2000], 5)
    launch([0x3000], 6)
    assert fake.early == [("pss", 1, 5), ("pss", 1, 5), ("pss", 1, 6)]
    assert [(g, s, slots) for g, _, s, slots in fake.launches] == [
        ((4, 1, 2), 5, [9, 0x1000]), ((4, 1, 2), 5, [9, 0x2000]), ((4, 1, 2), 6, [9, 0x3000])]
    plain = driver.launcher(driver.Function(1, "k", 0), (1, 1, 1), (32, 1, 1), 0, 2,
                            pointers=[(1, 0)])
    plain([0x4000], 0)
    for value in ("0", "off", " False "):
        monkeypatch.setenv("TESSEL_PDL", value)
        off = driver.launcher(driver.Function(1, "k", 0), (1, 1, 1), (32, 1, 1), 0, 2,
                              pointers=[(1, 0)], early=True)
        off([0x5000], 0)
    assert len(fake.early) == 3 and len(fake.launches) == 7
    monkeypatch.setenv("TESSEL_PDL", "1")
    driver.launcher(driver.Function(1, "k", 0), (1, 1, 1), (32, 1, 1), 0, 2,
                    pointers=[(1, 0)], early=True)([0x6000], 0)
    assert len(fake.early) == 4


ENTRY = """.visible .entry k(
	.param .u64 .ptr .align 1 k_param_0,
	.param .align 64 .b8 k_param_1[128]
)
.maxntid 128, 1, 1
{
	.reg .b64 	%rd<9>;
	// demoted variable
	.shared .align 16 .b8 __dynamic_shmem__0;
	ld.param.b64 	%rd1, [k_param_0];
	cvta.to.global.u64 	%rd2, %rd1;
	mov.b64 	%rd3, k_param_1;
BODY
	ret;
}
"""


@pytest.mark.parametrize("body,waits", [
    ("\tgriddepcontrol.wait;\n\tld.global.b32 \t%r1, [%rd2];", True),
    ("\tld.global.b32 \t%r1, [%rd2];\n\tgriddepcontrol.wait;", False),
    ("\tcp.async.ca.shared.global [%r1], [%rd2], 16;\n\tgriddepcontrol.wait;", False),
    ("\tld.global.b32 \t%r1, [%rd2];", False),
])
def test_only_a_kernel_that_reads_nothing_before_its_wait_counts_as_waiting(body, waits):
    from tessel.compiler.cuda.artifact import waits_for_prior_grid

    ptx = ENTRY.replace("BODY", body)
    assert waits_for_prior_grid(ptx, "k") is waits
    assert waits_for_prior_grid(ptx, "other") is False
