# Empty dependencies file for test_ops_skinny.
# This may be replaced when dependencies are built.
