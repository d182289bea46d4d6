// RUN: tessel-opt %s -split-input-file -verify-diagnostics -tessel-check-sizes
// RUN: tessel-opt %s -split-input-file -verify-diagnostics -tessel-cpu-pipeline

// Shaped types whose sizes overflow int64 are reported before any pass asks
// MLIR's strided-layout utilities about them (they assert): a function with
// such an argument and no tessel op used to abort tessel-bufferize.

// expected-error @+1 {{block argument #0 has type 'tensor<3037000500x3037000500xf32>', which is too large: the product of its non-zero static dimensions exceeds the int64 limit 9223372036854775807}}
func.func @argument(%c: tensor<3037000500x3037000500xf32>) {
  return
}

// -----

// expected-error @+1 {{block argument #1 has type 'memref<2x2305843009213693952xf32>', which is too large: 4611686018427387904 elements of 4 bytes exceed the int64 limit of 9223372036854775807 bytes}}
func.func @bytes(%a: memref<4xf32>, %b: memref<2x2305843009213693952xf32>) {
  return
}

// -----

// expected-error @+1 {{attribute 'function_type' holds type 'memref<0x4611686018427387904x4xf16>', which is too large: the product of its non-zero static dimensions exceeds the int64 limit}}
func.func private @declaration(memref<0x4611686018427387904x4xf16>)

// -----

func.func @result() {
  // expected-error @+1 {{result #0 has type 'tensor<4611686018427387904x4611686018427387904xi8>', which is too large}}
  %t = tensor.empty() : tensor<4611686018427387904x4611686018427387904xi8>
  return
}
