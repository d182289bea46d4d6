"""MLIR dialect bindings shipped with tessel."""
