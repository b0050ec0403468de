
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/wt/report/tests/test_tokenizer.c" "CMakeFiles/test_tokenizer.dir/tests/test_tokenizer.c.o" "gcc" "CMakeFiles/test_tokenizer.dir/tests/test_tokenizer.c.o.d"
  "/work/wt/report/tests/testutil.c" "CMakeFiles/test_tokenizer.dir/tests/testutil.c.o" "gcc" "CMakeFiles/test_tokenizer.dir/tests/testutil.c.o.d"
  "/work/wt/report/tests/tiny_clip.c" "CMakeFiles/test_tokenizer.dir/tests/tiny_clip.c.o" "gcc" "CMakeFiles/test_tokenizer.dir/tests/tiny_clip.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/wt/report/build/CMakeFiles/clipdebias_engine.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
