# Empty dependencies file for test_coop_grad.
# This may be replaced when dependencies are built.
