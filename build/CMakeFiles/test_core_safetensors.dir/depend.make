# Empty dependencies file for test_core_safetensors.
# This may be replaced when dependencies are built.
