file(REMOVE_RECURSE
  "CMakeFiles/test_ops_backward.dir/tests/test_ops_backward.c.o"
  "CMakeFiles/test_ops_backward.dir/tests/test_ops_backward.c.o.d"
  "CMakeFiles/test_ops_backward.dir/tests/testutil.c.o"
  "CMakeFiles/test_ops_backward.dir/tests/testutil.c.o.d"
  "CMakeFiles/test_ops_backward.dir/tests/tiny_clip.c.o"
  "CMakeFiles/test_ops_backward.dir/tests/tiny_clip.c.o.d"
  "test_ops_backward"
  "test_ops_backward.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_ops_backward.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
