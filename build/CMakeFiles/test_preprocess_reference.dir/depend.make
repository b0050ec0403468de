# Empty dependencies file for test_preprocess_reference.
# This may be replaced when dependencies are built.
