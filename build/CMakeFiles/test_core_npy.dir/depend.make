# Empty dependencies file for test_core_npy.
# This may be replaced when dependencies are built.
