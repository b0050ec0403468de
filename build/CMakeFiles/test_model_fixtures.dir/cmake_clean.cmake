file(REMOVE_RECURSE
  "CMakeFiles/test_model_fixtures.dir/tests/test_model_fixtures.c.o"
  "CMakeFiles/test_model_fixtures.dir/tests/test_model_fixtures.c.o.d"
  "CMakeFiles/test_model_fixtures.dir/tests/testutil.c.o"
  "CMakeFiles/test_model_fixtures.dir/tests/testutil.c.o.d"
  "CMakeFiles/test_model_fixtures.dir/tests/tiny_clip.c.o"
  "CMakeFiles/test_model_fixtures.dir/tests/tiny_clip.c.o.d"
  "test_model_fixtures"
  "test_model_fixtures.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_model_fixtures.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
