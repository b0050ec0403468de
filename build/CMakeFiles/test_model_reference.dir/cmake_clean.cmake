file(REMOVE_RECURSE
  "CMakeFiles/test_model_reference.dir/tests/test_model_reference.c.o"
  "CMakeFiles/test_model_reference.dir/tests/test_model_reference.c.o.d"
  "CMakeFiles/test_model_reference.dir/tests/testutil.c.o"
  "CMakeFiles/test_model_reference.dir/tests/testutil.c.o.d"
  "CMakeFiles/test_model_reference.dir/tests/tiny_clip.c.o"
  "CMakeFiles/test_model_reference.dir/tests/tiny_clip.c.o.d"
  "test_model_reference"
  "test_model_reference.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_model_reference.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
