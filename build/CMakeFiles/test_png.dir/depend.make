# Empty dependencies file for test_png.
# This may be replaced when dependencies are built.
