# Empty dependencies file for test_core_json.
# This may be replaced when dependencies are built.
