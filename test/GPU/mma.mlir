// RUN: tessel-opt %s -tessel-test-kernel-blocks | FileCheck %s

// One warp: A, B and C staged as padded [16][24] shared tiles (C's upper
// eight columns zero), S = A·B as two m16n8k16 mma.sync on the fragments of
// one ldmatrix.x4 each, then P = S rounded to f16 in registers and O = P·C.
// A is K-contiguous (no .trans), B and C are N-contiguous (.trans).
// CHECK-LABEL: func.func @mma_f16(
// CHECK-SAME:    %{{[^:]*}}: memref<16x16xf16>, %{{[^:]*}}: memref<16x16xf16>, %{{[^:]*}}: memref<16x8xf16>, %[[S:[^:]*]]: memref<16x16xf32>, %[[O:[^:]*]]: memref<16x8xf32>)
// CHECK:         %[[SA:.*]] = memref.view %{{.*}}[%c0{{.*}}][] {{.*}} to memref<16x24xf16, #gpu.address_space<workgroup>>
// CHECK:         %[[SB:.*]] = memref.view %{{.*}}[%c768][] {{.*}} to memref<16x24xf16, #gpu.address_space<workgroup>>
// CHECK:         %[[SC:.*]] = memref.view %{{.*}}[%c1536][] {{.*}} to memref<16x24xf16, #gpu.address_space<workgroup>>
// CHECK:         gpu.barrier
// CHECK:         %[[A:.*]] = nvgpu.ldmatrix %[[SA]][{{.*}}] {numTiles = 4 : i32, transpose = false} : {{.*}} -> vector<4x2xf16>
// CHECK:         %[[B:.*]] = nvgpu.ldmatrix %[[SB]][{{.*}}] {numTiles = 4 : i32, transpose = true}
// CHECK:         %[[B0:.*]] = vector.extract_strided_slice %[[B]] {offsets = [0, 0], sizes = [2, 2], strides = [1, 1]}
// CHECK:         %[[B1:.*]] = vector.extract_strided_slice %[[B]] {offsets = [2, 0], sizes = [2, 2], strides = [1, 1]}
// CHECK:         %[[S0:.*]] = nvgpu.mma.sync(%[[A]], %[[B0]], %{{.*}}) {mmaShape = [16, 8, 16]}
// CHECK:         %[[S1:.*]] = nvgpu.mma.sync(%[[A]], %[[B1]], %{{.*}}) {mmaShape = [16, 8, 16]}
// CHECK:         %[[E:.*]] = vector.extract %[[S0]][0, 0] : f32 from vector<2x2xf32>
// CHECK-NEXT:    memref.store %[[E]], %[[S]][
// CHECK-COUNT-7: memref.store %{{.*}}, %[[S]][
// CHECK:         %[[Z:.*]] = arith.constant dense<0.000000e+00> : vector<4x2xf16>
// CHECK:         %[[R0:.*]] = vector.extract %[[S0]][0] : vector<2xf32> from vector<2x2xf32>
// CHECK-NEXT:    %[[T0:.*]] = arith.truncf %[[R0]] : vector<2xf32> to vector<2xf16>
// CHECK-NEXT:    %[[P0:.*]] = vector.insert %[[T0]], %[[Z]] [0] : vector<2xf16> into vector<4x2xf16>
// CHECK-COUNT-2: arith.truncf %{{.*}} : vector<2xf32> to vector<2xf16>
// CHECK:         %[[R3:.*]] = vector.extract %[[S1]][1] : vector<2xf32> from vector<2x2xf32>
// CHECK-NEXT:    %[[T3:.*]] = arith.truncf %[[R3]] : vector<2xf32> to vector<2xf16>
// CHECK-NEXT:    %[[P:.*]] = vector.insert %[[T3]], %{{.*}} [3] : vector<2xf16> into vector<4x2xf16>
// CHECK:         %[[C:.*]] = nvgpu.ldmatrix %[[SC]][{{.*}}] {numTiles = 4 : i32, transpose = true}
// CHECK:         %[[C0:.*]] = vector.extract_strided_slice %[[C]] {offsets = [0, 0]
// CHECK:         %[[OACC:.*]] = nvgpu.mma.sync(%[[P]], %[[C0]], %{{.*}})
// CHECK-COUNT-4: memref.store %{{.*}}, %[[O]][
func.func @mma_f16(%a: memref<16x16xf16>, %b: memref<16x16xf16>, %c: memref<16x8xf16>, %s: memref<16x16xf32>, %o: memref<16x8xf32>) attributes {tessel.test_block = "mma"} {
  return
}

// bf16 goes through nvvm.mma.sync; A stored M-contiguous (.trans), B
// K-contiguous (no .trans).
// CHECK-LABEL: func.func @mma_bf16_transposed(
// CHECK:         nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = true} : {{.*}} -> vector<4x2xbf16>
// CHECK:         nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false} : {{.*}} -> vector<4x2xbf16>
// CHECK-COUNT-2: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<bf16>
// CHECK:         arith.truncf %{{.*}} : vector<2xf32> to vector<2xbf16>
// CHECK:         nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = true}
// CHECK:         nvvm.mma.sync
// CHECK-NOT:     nvvm.mma.sync
func.func @mma_bf16_transposed(%a: memref<16x16xbf16>, %b: memref<16x16xbf16>, %c: memref<16x8xbf16>, %s: memref<16x16xf32>, %o: memref<16x8xf32>) attributes {tessel.test_block = "mma", tessel.test_options = {a_k_contiguous = false, b_k_contiguous = true}} {
  return
}
