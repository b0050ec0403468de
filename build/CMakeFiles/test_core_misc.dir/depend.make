# Empty dependencies file for test_core_misc.
# This may be replaced when dependencies are built.
