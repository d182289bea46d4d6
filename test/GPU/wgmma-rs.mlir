// RUN: tessel-opt %s -tessel-test-kernel-blocks | FileCheck %s

// One warpgroup: A's 64 x 16 staged to a padded shared tile and read back
// as one mma.sync A fragment per warp (ldmatrix, no .trans), B stored in a
// 128-byte-swizzled tile, one m64n64k16 wgmma with A from registers as
// inline PTX (scale-d 0: D = A * B), D stored through the register map.
// CHECK-LABEL: func.func @wgmma_rs_f16(
// CHECK-SAME:    %{{[^:]*}}: memref<64x16xf16>, %{{[^:]*}}: memref<16x64xf16>, %[[D:[^:]*]]: memref<64x64xf32>)
// CHECK:         memref.extract_aligned_pointer_as_index
// CHECK:         nvvm.fence.proxy
// CHECK:         gpu.barrier
// CHECK:         %[[A:.*]] = nvgpu.ldmatrix %{{.*}} {numTiles = 4 : i32, transpose = false} : {{.*}} -> vector<4x2xf16>
// CHECK:         nvvm.wgmma.fence.aligned
// CHECK:         %[[ACC:.*]] = llvm.inline_asm has_side_effects {{.*}}wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 {$0, {{.*}}, $31}, {$64, $65, $66, $67}, $68, p, 1, 1, 1;
// CHECK:         nvvm.wgmma.commit.group.sync.aligned
// CHECK:         nvvm.wgmma.wait.group.sync.aligned 0
// CHECK-COUNT-32: memref.store %{{.*}}, %[[D]][
func.func @wgmma_rs_f16(%a: memref<64x16xf16>, %b: memref<16x64xf16>, %d: memref<64x64xf32>) attributes {tessel.test_block = "wgmma_rs"} {
  return
}
