# Empty dependencies file for test_jpeg_reference.
# This may be replaced when dependencies are built.
