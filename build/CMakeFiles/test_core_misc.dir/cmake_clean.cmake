file(REMOVE_RECURSE
  "CMakeFiles/test_core_misc.dir/tests/test_core_misc.c.o"
  "CMakeFiles/test_core_misc.dir/tests/test_core_misc.c.o.d"
  "CMakeFiles/test_core_misc.dir/tests/testutil.c.o"
  "CMakeFiles/test_core_misc.dir/tests/testutil.c.o.d"
  "CMakeFiles/test_core_misc.dir/tests/tiny_clip.c.o"
  "CMakeFiles/test_core_misc.dir/tests/tiny_clip.c.o.d"
  "test_core_misc"
  "test_core_misc.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_core_misc.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
