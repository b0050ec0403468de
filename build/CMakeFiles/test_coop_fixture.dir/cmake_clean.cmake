file(REMOVE_RECURSE
  "CMakeFiles/test_coop_fixture.dir/tests/test_coop_fixture.c.o"
  "CMakeFiles/test_coop_fixture.dir/tests/test_coop_fixture.c.o.d"
  "CMakeFiles/test_coop_fixture.dir/tests/testutil.c.o"
  "CMakeFiles/test_coop_fixture.dir/tests/testutil.c.o.d"
  "CMakeFiles/test_coop_fixture.dir/tests/tiny_clip.c.o"
  "CMakeFiles/test_coop_fixture.dir/tests/tiny_clip.c.o.d"
  "test_coop_fixture"
  "test_coop_fixture.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_coop_fixture.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
