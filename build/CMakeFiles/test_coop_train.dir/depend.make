# Empty dependencies file for test_coop_train.
# This may be replaced when dependencies are built.
