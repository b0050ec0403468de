file(REMOVE_RECURSE
  "CMakeFiles/test_jpeg_simd.dir/tests/test_jpeg_simd.c.o"
  "CMakeFiles/test_jpeg_simd.dir/tests/test_jpeg_simd.c.o.d"
  "CMakeFiles/test_jpeg_simd.dir/tests/testutil.c.o"
  "CMakeFiles/test_jpeg_simd.dir/tests/testutil.c.o.d"
  "CMakeFiles/test_jpeg_simd.dir/tests/tiny_clip.c.o"
  "CMakeFiles/test_jpeg_simd.dir/tests/tiny_clip.c.o.d"
  "test_jpeg_simd"
  "test_jpeg_simd.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_jpeg_simd.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
