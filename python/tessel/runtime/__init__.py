"""The CUDA runtime: cuda-python driver API, device arrays, launches."""
