# Empty dependencies file for test_coop_reference.
# This may be replaced when dependencies are built.
