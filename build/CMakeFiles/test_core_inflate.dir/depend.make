# Empty dependencies file for test_core_inflate.
# This may be replaced when dependencies are built.
