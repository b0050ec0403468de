file(REMOVE_RECURSE
  "CMakeFiles/test_tokenizer_reference.dir/tests/test_tokenizer_reference.c.o"
  "CMakeFiles/test_tokenizer_reference.dir/tests/test_tokenizer_reference.c.o.d"
  "CMakeFiles/test_tokenizer_reference.dir/tests/testutil.c.o"
  "CMakeFiles/test_tokenizer_reference.dir/tests/testutil.c.o.d"
  "CMakeFiles/test_tokenizer_reference.dir/tests/tiny_clip.c.o"
  "CMakeFiles/test_tokenizer_reference.dir/tests/tiny_clip.c.o.d"
  "test_tokenizer_reference"
  "test_tokenizer_reference.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_tokenizer_reference.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
