# Empty dependencies file for test_jpeg_simd.
# This may be replaced when dependencies are built.
