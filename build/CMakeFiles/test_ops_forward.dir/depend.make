# Empty dependencies file for test_ops_forward.
# This may be replaced when dependencies are built.
