// RUN: tessel-opt %s -split-input-file -verify-diagnostics -tessel-finalize-kernels | FileCheck %s

// The kernel argument fed by a tensor map becomes a 128-byte by-value grid
// constant; the pointer beside it is left alone. A kernel with setmaxnreg
// gets a launch bound; one without does not.
// CHECK-LABEL: llvm.func @k(
// CHECK-SAME:    %{{.*}}: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<128 x i8>, nvvm.grid_constant},
// CHECK-SAME:    %{{[^:]*}}: !llvm.ptr)
// CHECK-SAME:    nvvm.minctasm = 1 : i32
// CHECK-LABEL: llvm.func @plain(
// CHECK-NOT:     nvvm.minctasm
// CHECK:         llvm.return
!map = !nvgpu.tensormap.descriptor<tensor = memref<16x64xf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b, l2promo = none, oob = zero, interleave = none>
module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.func @k(%map: !llvm.ptr, %out: !llvm.ptr) attributes {gpu.kernel, nvvm.kernel, nvvm.maxntid = array<i32: 256, 1, 1>} {
      nvvm.setmaxregister increase 232
      llvm.return
    }
    llvm.func @plain(%out: !llvm.ptr) attributes {gpu.kernel, nvvm.kernel} {
      llvm.return
    }
  }
  func.func @host(%src: memref<40x128xf16>, %out: memref<64xf16>) {
    %c1 = arith.constant 1 : index
    %c16 = arith.constant 16 : index
    %c64 = arith.constant 64 : index
    %cast = memref.cast %src : memref<40x128xf16> to memref<*xf16>
    %desc = nvgpu.tma.create.descriptor %cast box[%c16, %c64] : memref<*xf16> -> !map
    %ptr = builtin.unrealized_conversion_cast %desc : !map to !llvm.ptr
    gpu.launch_func @m::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%ptr : !llvm.ptr, %out : memref<64xf16>)
    gpu.launch_func @m::@plain blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%out : memref<64xf16>)
    return
  }
}

// -----

!map = !nvgpu.tensormap.descriptor<tensor = memref<16x64xf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b, l2promo = none, oob = zero, interleave = none>
module attributes {gpu.container_module} {
  gpu.module @m {
    gpu.func @k(%map: !llvm.ptr) kernel {
      gpu.return
    }
  }
  func.func @host(%src: memref<40x128xf16>) {
    %c1 = arith.constant 1 : index
    %c16 = arith.constant 16 : index
    %c64 = arith.constant 64 : index
    %cast = memref.cast %src : memref<40x128xf16> to memref<*xf16>
    %desc = nvgpu.tma.create.descriptor %cast box[%c16, %c64] : memref<*xf16> -> !map
    %ptr = builtin.unrealized_conversion_cast %desc : !map to !llvm.ptr
    // expected-error @+1 {{tessel-finalize-kernels: kernel @m::@k takes a tensor map but is not an llvm.func; run the pass after the GPU-to-NVVM conversion}}
    gpu.launch_func @m::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%ptr : !llvm.ptr)
    return
  }
}

// -----

!map = !nvgpu.tensormap.descriptor<tensor = memref<16x64xf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b, l2promo = none, oob = zero, interleave = none>
module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.func @k(%map: !llvm.ptr, %a: !llvm.ptr, %b: !llvm.ptr) attributes {gpu.kernel, nvvm.kernel} {
      llvm.return
    }
  }
  func.func @host(%src: memref<40x128xf16>, %out: memref<?xf16>) {
    %c1 = arith.constant 1 : index
    %c16 = arith.constant 16 : index
    %c64 = arith.constant 64 : index
    %cast = memref.cast %src : memref<40x128xf16> to memref<*xf16>
    %desc = nvgpu.tma.create.descriptor %cast box[%c16, %c64] : memref<*xf16> -> !map
    %ptr = builtin.unrealized_conversion_cast %desc : !map to !llvm.ptr
    // expected-error @+1 {{tessel-finalize-kernels: kernel @m::@k has 3 arguments for 2 launch operands; tensor maps need bare-pointer memref arguments (one per operand)}}
    gpu.launch_func @m::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%ptr : !llvm.ptr, %out : memref<?xf16>)
    return
  }
}

// -----

!map = !nvgpu.tensormap.descriptor<tensor = memref<16x64xf16, #gpu.address_space<workgroup>>, swizzle = swizzle_128b, l2promo = none, oob = zero, interleave = none>
module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.func @k(%map: i64) attributes {gpu.kernel, nvvm.kernel} {
      llvm.return
    }
  }
  func.func @host(%src: memref<40x128xf16>) {
    %c1 = arith.constant 1 : index
    %c16 = arith.constant 16 : index
    %c64 = arith.constant 64 : index
    %cast = memref.cast %src : memref<40x128xf16> to memref<*xf16>
    %desc = nvgpu.tma.create.descriptor %cast box[%c16, %c64] : memref<*xf16> -> !map
    %ptr = builtin.unrealized_conversion_cast %desc : !map to !llvm.ptr
    // expected-error @+1 {{tessel-finalize-kernels: kernel @m::@k argument 0 receives a tensor map but has type 'i64', not !llvm.ptr}}
    gpu.launch_func @m::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%ptr : !llvm.ptr)
    return
  }
}

// -----

// A kernel launched in clusters declares their shape (.reqnctapercluster).
// CHECK-LABEL: llvm.func @clustered(
// CHECK-SAME:    nvvm.cluster_dim = array<i32: 1, 2, 1>
module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.func @clustered() attributes {gpu.kernel, nvvm.kernel} {
      llvm.return
    }
  }
  func.func @host() {
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    gpu.launch_func @m::@clustered clusters in (%c1, %c2, %c1) blocks in (%c1, %c2, %c1) threads in (%c1, %c1, %c1)
    return
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.func @k() attributes {gpu.kernel, nvvm.kernel} {
      llvm.return
    }
  }
  func.func @host(%n: index) {
    %c1 = arith.constant 1 : index
    // expected-error @+1 {{tessel-finalize-kernels: kernel @m::@k needs a constant cluster size of 1 to 8 blocks per dimension (the kernel declares it)}}
    gpu.launch_func @m::@k clusters in (%n, %c1, %c1) blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c1)
    return
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.func @k() attributes {gpu.kernel, nvvm.kernel} {
      llvm.return
    }
  }
  func.func @host() {
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %c4 = arith.constant 4 : index
    gpu.launch_func @m::@k clusters in (%c2, %c1, %c1) blocks in (%c4, %c1, %c1) threads in (%c1, %c1, %c1)
    // expected-error @+1 {{tessel-finalize-kernels: kernel @m::@k is launched with clusters of two shapes}}
    gpu.launch_func @m::@k clusters in (%c4, %c1, %c1) blocks in (%c4, %c1, %c1) threads in (%c1, %c1, %c1)
    return
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @m {
    gpu.func @k() kernel {
      gpu.return
    }
  }
  func.func @host() {
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    // expected-error @+1 {{tessel-finalize-kernels: kernel @m::@k is launched in clusters but is not an llvm.func; run the pass after the GPU-to-NVVM conversion}}
    gpu.launch_func @m::@k clusters in (%c2, %c1, %c1) blocks in (%c2, %c1, %c1) threads in (%c1, %c1, %c1)
    return
  }
}

// -----

// Every kernel first waits for the grid ahead of it on the stream (so the
// runtime may launch it early, PDL); one that already begins with the wait
// gets no second; a device function gets none.
// CHECK-LABEL: llvm.func @first(
// CHECK-NEXT:    nvvm.griddepcontrol wait
// CHECK-NEXT:    llvm.store
// CHECK-LABEL: llvm.func @again(
// CHECK-NEXT:    nvvm.griddepcontrol wait
// CHECK-NEXT:    llvm.return
// CHECK-LABEL: llvm.func @helper(
// CHECK-NEXT:    llvm.return
module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.func @first(%out: !llvm.ptr, %v: f32) attributes {gpu.kernel, nvvm.kernel} {
      llvm.store %v, %out : f32, !llvm.ptr
      llvm.return
    }
    llvm.func @again() attributes {gpu.kernel, nvvm.kernel} {
      nvvm.griddepcontrol wait
      llvm.return
    }
    llvm.func @helper() {
      llvm.return
    }
  }
}
