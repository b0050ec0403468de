# Empty dependencies file for test_model_fixtures.
# This may be replaced when dependencies are built.
