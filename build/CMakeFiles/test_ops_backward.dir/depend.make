# Empty dependencies file for test_ops_backward.
# This may be replaced when dependencies are built.
