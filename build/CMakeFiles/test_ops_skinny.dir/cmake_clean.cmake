file(REMOVE_RECURSE
  "CMakeFiles/test_ops_skinny.dir/tests/test_ops_skinny.c.o"
  "CMakeFiles/test_ops_skinny.dir/tests/test_ops_skinny.c.o.d"
  "CMakeFiles/test_ops_skinny.dir/tests/testutil.c.o"
  "CMakeFiles/test_ops_skinny.dir/tests/testutil.c.o.d"
  "CMakeFiles/test_ops_skinny.dir/tests/tiny_clip.c.o"
  "CMakeFiles/test_ops_skinny.dir/tests/tiny_clip.c.o.d"
  "test_ops_skinny"
  "test_ops_skinny.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_ops_skinny.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
