file(REMOVE_RECURSE
  "CMakeFiles/test_ops_forward.dir/tests/test_ops_forward.c.o"
  "CMakeFiles/test_ops_forward.dir/tests/test_ops_forward.c.o.d"
  "CMakeFiles/test_ops_forward.dir/tests/testutil.c.o"
  "CMakeFiles/test_ops_forward.dir/tests/testutil.c.o.d"
  "CMakeFiles/test_ops_forward.dir/tests/tiny_clip.c.o"
  "CMakeFiles/test_ops_forward.dir/tests/tiny_clip.c.o.d"
  "test_ops_forward"
  "test_ops_forward.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_ops_forward.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
