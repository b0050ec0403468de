file(REMOVE_RECURSE
  "CMakeFiles/test_core_inflate.dir/tests/test_core_inflate.c.o"
  "CMakeFiles/test_core_inflate.dir/tests/test_core_inflate.c.o.d"
  "CMakeFiles/test_core_inflate.dir/tests/testutil.c.o"
  "CMakeFiles/test_core_inflate.dir/tests/testutil.c.o.d"
  "CMakeFiles/test_core_inflate.dir/tests/tiny_clip.c.o"
  "CMakeFiles/test_core_inflate.dir/tests/tiny_clip.c.o.d"
  "test_core_inflate"
  "test_core_inflate.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_core_inflate.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
