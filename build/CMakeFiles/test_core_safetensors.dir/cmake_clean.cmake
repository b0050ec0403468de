file(REMOVE_RECURSE
  "CMakeFiles/test_core_safetensors.dir/tests/test_core_safetensors.c.o"
  "CMakeFiles/test_core_safetensors.dir/tests/test_core_safetensors.c.o.d"
  "CMakeFiles/test_core_safetensors.dir/tests/testutil.c.o"
  "CMakeFiles/test_core_safetensors.dir/tests/testutil.c.o.d"
  "CMakeFiles/test_core_safetensors.dir/tests/tiny_clip.c.o"
  "CMakeFiles/test_core_safetensors.dir/tests/tiny_clip.c.o.d"
  "test_core_safetensors"
  "test_core_safetensors.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_core_safetensors.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
