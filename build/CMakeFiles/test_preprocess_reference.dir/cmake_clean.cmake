file(REMOVE_RECURSE
  "CMakeFiles/test_preprocess_reference.dir/tests/test_preprocess_reference.c.o"
  "CMakeFiles/test_preprocess_reference.dir/tests/test_preprocess_reference.c.o.d"
  "CMakeFiles/test_preprocess_reference.dir/tests/testutil.c.o"
  "CMakeFiles/test_preprocess_reference.dir/tests/testutil.c.o.d"
  "CMakeFiles/test_preprocess_reference.dir/tests/tiny_clip.c.o"
  "CMakeFiles/test_preprocess_reference.dir/tests/tiny_clip.c.o.d"
  "test_preprocess_reference"
  "test_preprocess_reference.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_preprocess_reference.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
