# Empty dependencies file for test_jpeg.
# This may be replaced when dependencies are built.
