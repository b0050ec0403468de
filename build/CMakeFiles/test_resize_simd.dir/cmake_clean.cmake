file(REMOVE_RECURSE
  "CMakeFiles/test_resize_simd.dir/tests/test_resize_simd.c.o"
  "CMakeFiles/test_resize_simd.dir/tests/test_resize_simd.c.o.d"
  "CMakeFiles/test_resize_simd.dir/tests/testutil.c.o"
  "CMakeFiles/test_resize_simd.dir/tests/testutil.c.o.d"
  "CMakeFiles/test_resize_simd.dir/tests/tiny_clip.c.o"
  "CMakeFiles/test_resize_simd.dir/tests/tiny_clip.c.o.d"
  "test_resize_simd"
  "test_resize_simd.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_resize_simd.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
