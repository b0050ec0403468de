# Empty dependencies file for test_resize_simd.
# This may be replaced when dependencies are built.
