file(REMOVE_RECURSE
  "CMakeFiles/test_core_json.dir/tests/test_core_json.c.o"
  "CMakeFiles/test_core_json.dir/tests/test_core_json.c.o.d"
  "CMakeFiles/test_core_json.dir/tests/testutil.c.o"
  "CMakeFiles/test_core_json.dir/tests/testutil.c.o.d"
  "CMakeFiles/test_core_json.dir/tests/tiny_clip.c.o"
  "CMakeFiles/test_core_json.dir/tests/tiny_clip.c.o.d"
  "test_core_json"
  "test_core_json.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_core_json.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
