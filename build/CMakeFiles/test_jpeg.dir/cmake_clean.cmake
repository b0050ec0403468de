file(REMOVE_RECURSE
  "CMakeFiles/test_jpeg.dir/tests/test_jpeg.c.o"
  "CMakeFiles/test_jpeg.dir/tests/test_jpeg.c.o.d"
  "CMakeFiles/test_jpeg.dir/tests/testutil.c.o"
  "CMakeFiles/test_jpeg.dir/tests/testutil.c.o.d"
  "CMakeFiles/test_jpeg.dir/tests/tiny_clip.c.o"
  "CMakeFiles/test_jpeg.dir/tests/tiny_clip.c.o.d"
  "test_jpeg"
  "test_jpeg.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_jpeg.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
