//===- InitTessel.h - what tessel-opt and the Python plugin register -*- C++ -*-===//
//
// The one list of what tessel adds to a registry: both tools/tessel-opt and
// the C API used by the Python package call these, so they can never drift.
//
//===----------------------------------------------------------------------===//
#ifndef TESSEL_INITTESSEL_H
#define TESSEL_INITTESSEL_H

namespace mlir {
class DialectRegistry;
namespace tessel {

/// The tessel dialect and its interface models (bufferization).
void registerTesselDialects(DialectRegistry &registry);

/// Tessel passes and pass pipelines; safe to call more than once.
void registerTesselPasses();

} // namespace tessel
} // namespace mlir

#endif // TESSEL_INITTESSEL_H
