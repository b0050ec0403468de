file(REMOVE_RECURSE
  "CMakeFiles/test_coop_grad.dir/tests/test_coop_grad.c.o"
  "CMakeFiles/test_coop_grad.dir/tests/test_coop_grad.c.o.d"
  "CMakeFiles/test_coop_grad.dir/tests/testutil.c.o"
  "CMakeFiles/test_coop_grad.dir/tests/testutil.c.o.d"
  "CMakeFiles/test_coop_grad.dir/tests/tiny_clip.c.o"
  "CMakeFiles/test_coop_grad.dir/tests/tiny_clip.c.o.d"
  "test_coop_grad"
  "test_coop_grad.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_coop_grad.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
