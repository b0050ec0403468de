
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/wt/report/tools/cli/args.c" "CMakeFiles/clipdebias.dir/tools/cli/args.c.o" "gcc" "CMakeFiles/clipdebias.dir/tools/cli/args.c.o.d"
  "/work/wt/report/tools/cli/cli_common.c" "CMakeFiles/clipdebias.dir/tools/cli/cli_common.c.o" "gcc" "CMakeFiles/clipdebias.dir/tools/cli/cli_common.c.o.d"
  "/work/wt/report/tools/cli/cmd_embed_image.c" "CMakeFiles/clipdebias.dir/tools/cli/cmd_embed_image.c.o" "gcc" "CMakeFiles/clipdebias.dir/tools/cli/cmd_embed_image.c.o.d"
  "/work/wt/report/tools/cli/cmd_embed_text.c" "CMakeFiles/clipdebias.dir/tools/cli/cmd_embed_text.c.o" "gcc" "CMakeFiles/clipdebias.dir/tools/cli/cmd_embed_text.c.o.d"
  "/work/wt/report/tools/cli/cmd_info.c" "CMakeFiles/clipdebias.dir/tools/cli/cmd_info.c.o" "gcc" "CMakeFiles/clipdebias.dir/tools/cli/cmd_info.c.o.d"
  "/work/wt/report/tools/cli/cmd_merge.c" "CMakeFiles/clipdebias.dir/tools/cli/cmd_merge.c.o" "gcc" "CMakeFiles/clipdebias.dir/tools/cli/cmd_merge.c.o.d"
  "/work/wt/report/tools/cli/cmd_preprocess.c" "CMakeFiles/clipdebias.dir/tools/cli/cmd_preprocess.c.o" "gcc" "CMakeFiles/clipdebias.dir/tools/cli/cmd_preprocess.c.o.d"
  "/work/wt/report/tools/cli/cmd_prompt_grad.c" "CMakeFiles/clipdebias.dir/tools/cli/cmd_prompt_grad.c.o" "gcc" "CMakeFiles/clipdebias.dir/tools/cli/cmd_prompt_grad.c.o.d"
  "/work/wt/report/tools/cli/cmd_report.c" "CMakeFiles/clipdebias.dir/tools/cli/cmd_report.c.o" "gcc" "CMakeFiles/clipdebias.dir/tools/cli/cmd_report.c.o.d"
  "/work/wt/report/tools/cli/cmd_tokenize.c" "CMakeFiles/clipdebias.dir/tools/cli/cmd_tokenize.c.o" "gcc" "CMakeFiles/clipdebias.dir/tools/cli/cmd_tokenize.c.o.d"
  "/work/wt/report/tools/cli/cmd_tune.c" "CMakeFiles/clipdebias.dir/tools/cli/cmd_tune.c.o" "gcc" "CMakeFiles/clipdebias.dir/tools/cli/cmd_tune.c.o.d"
  "/work/wt/report/tools/cli/coop_common.c" "CMakeFiles/clipdebias.dir/tools/cli/coop_common.c.o" "gcc" "CMakeFiles/clipdebias.dir/tools/cli/coop_common.c.o.d"
  "/work/wt/report/tools/cli/image_inputs.c" "CMakeFiles/clipdebias.dir/tools/cli/image_inputs.c.o" "gcc" "CMakeFiles/clipdebias.dir/tools/cli/image_inputs.c.o.d"
  "/work/wt/report/tools/cli/main.c" "CMakeFiles/clipdebias.dir/tools/cli/main.c.o" "gcc" "CMakeFiles/clipdebias.dir/tools/cli/main.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/wt/report/build/CMakeFiles/clipdebias_engine.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
