file(REMOVE_RECURSE
  "CMakeFiles/test_resize.dir/tests/test_resize.c.o"
  "CMakeFiles/test_resize.dir/tests/test_resize.c.o.d"
  "CMakeFiles/test_resize.dir/tests/testutil.c.o"
  "CMakeFiles/test_resize.dir/tests/testutil.c.o.d"
  "CMakeFiles/test_resize.dir/tests/tiny_clip.c.o"
  "CMakeFiles/test_resize.dir/tests/tiny_clip.c.o.d"
  "test_resize"
  "test_resize.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_resize.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
