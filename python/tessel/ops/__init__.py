"""Per-op Python front ends: validation, signatures, IR building."""
