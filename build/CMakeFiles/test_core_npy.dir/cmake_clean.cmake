file(REMOVE_RECURSE
  "CMakeFiles/test_core_npy.dir/tests/test_core_npy.c.o"
  "CMakeFiles/test_core_npy.dir/tests/test_core_npy.c.o.d"
  "CMakeFiles/test_core_npy.dir/tests/testutil.c.o"
  "CMakeFiles/test_core_npy.dir/tests/testutil.c.o.d"
  "CMakeFiles/test_core_npy.dir/tests/tiny_clip.c.o"
  "CMakeFiles/test_core_npy.dir/tests/tiny_clip.c.o.d"
  "test_core_npy"
  "test_core_npy.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_core_npy.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
