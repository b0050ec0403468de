file(REMOVE_RECURSE
  "CMakeFiles/test_coop_train.dir/tests/test_coop_train.c.o"
  "CMakeFiles/test_coop_train.dir/tests/test_coop_train.c.o.d"
  "CMakeFiles/test_coop_train.dir/tests/testutil.c.o"
  "CMakeFiles/test_coop_train.dir/tests/testutil.c.o.d"
  "CMakeFiles/test_coop_train.dir/tests/tiny_clip.c.o"
  "CMakeFiles/test_coop_train.dir/tests/tiny_clip.c.o.d"
  "test_coop_train"
  "test_coop_train.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_coop_train.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
