# Empty dependencies file for test_coop_fixture.
# This may be replaced when dependencies are built.
