# Empty dependencies file for test_tokenizer_reference.
# This may be replaced when dependencies are built.
