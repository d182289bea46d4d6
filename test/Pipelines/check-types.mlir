// RUN: tessel-opt %s -split-input-file -verify-diagnostics -tessel-check-types
// RUN: tessel-opt %s -split-input-file -verify-diagnostics -tessel-cpu-pipeline

// Types that upstream passes assert on are reported before any of them runs:
// a function with such an argument and no tessel op used to abort
// tessel-bufferize (found by scripts/fuzz.py).

// expected-error @+1 {{block argument #0 has type 'tensor<3037000500x3037000500xf32>', which tessel cannot lower: the product of its non-zero static dimensions exceeds the int64 limit 9223372036854775807}}
func.func @argument(%c: tensor<3037000500x3037000500xf32>) {
  return
}

// -----

// expected-error @+1 {{block argument #1 has type 'memref<2x2305843009213693952xf32>', which tessel cannot lower: 4611686018427387904 elements of 4 bytes exceed the int64 limit of 9223372036854775807 bytes}}
func.func @bytes(%a: memref<4xf32>, %b: memref<2x2305843009213693952xf32>) {
  return
}

// -----

// expected-error @+1 {{attribute 'function_type' holds type 'memref<0x4611686018427387904x4xf16>', which tessel cannot lower: the product of its non-zero static dimensions exceeds the int64 limit}}
func.func private @declaration(memref<0x4611686018427387904x4xf16>)

// -----

func.func @result() {
  // expected-error @+1 {{result #0 has type 'tensor<4611686018427387904x4611686018427387904xi8>', which tessel cannot lower}}
  %t = tensor.empty() : tensor<4611686018427387904x4611686018427387904xi8>
  return
}

// -----

// expected-error @+1 {{block argument #0 has type 'tensor<4x!llvm.ptr>', which tessel cannot lower: its element type cannot be bufferized (no memref holds it)}}
func.func @pointer_tensor(%p: tensor<4x!llvm.ptr>) {
  return
}

// -----

// expected-error @+1 {{attribute 'function_type' holds type 'tensor<*x!llvm.ptr>', which tessel cannot lower: its element type cannot be bufferized}}
func.func private @unranked_pointer_tensor(tensor<*x!llvm.ptr>)
