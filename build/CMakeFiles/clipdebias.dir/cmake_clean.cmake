file(REMOVE_RECURSE
  "CMakeFiles/clipdebias.dir/tools/cli/args.c.o"
  "CMakeFiles/clipdebias.dir/tools/cli/args.c.o.d"
  "CMakeFiles/clipdebias.dir/tools/cli/cli_common.c.o"
  "CMakeFiles/clipdebias.dir/tools/cli/cli_common.c.o.d"
  "CMakeFiles/clipdebias.dir/tools/cli/cmd_embed_image.c.o"
  "CMakeFiles/clipdebias.dir/tools/cli/cmd_embed_image.c.o.d"
  "CMakeFiles/clipdebias.dir/tools/cli/cmd_embed_text.c.o"
  "CMakeFiles/clipdebias.dir/tools/cli/cmd_embed_text.c.o.d"
  "CMakeFiles/clipdebias.dir/tools/cli/cmd_info.c.o"
  "CMakeFiles/clipdebias.dir/tools/cli/cmd_info.c.o.d"
  "CMakeFiles/clipdebias.dir/tools/cli/cmd_merge.c.o"
  "CMakeFiles/clipdebias.dir/tools/cli/cmd_merge.c.o.d"
  "CMakeFiles/clipdebias.dir/tools/cli/cmd_preprocess.c.o"
  "CMakeFiles/clipdebias.dir/tools/cli/cmd_preprocess.c.o.d"
  "CMakeFiles/clipdebias.dir/tools/cli/cmd_prompt_grad.c.o"
  "CMakeFiles/clipdebias.dir/tools/cli/cmd_prompt_grad.c.o.d"
  "CMakeFiles/clipdebias.dir/tools/cli/cmd_report.c.o"
  "CMakeFiles/clipdebias.dir/tools/cli/cmd_report.c.o.d"
  "CMakeFiles/clipdebias.dir/tools/cli/cmd_tokenize.c.o"
  "CMakeFiles/clipdebias.dir/tools/cli/cmd_tokenize.c.o.d"
  "CMakeFiles/clipdebias.dir/tools/cli/cmd_tune.c.o"
  "CMakeFiles/clipdebias.dir/tools/cli/cmd_tune.c.o.d"
  "CMakeFiles/clipdebias.dir/tools/cli/coop_common.c.o"
  "CMakeFiles/clipdebias.dir/tools/cli/coop_common.c.o.d"
  "CMakeFiles/clipdebias.dir/tools/cli/image_inputs.c.o"
  "CMakeFiles/clipdebias.dir/tools/cli/image_inputs.c.o.d"
  "CMakeFiles/clipdebias.dir/tools/cli/main.c.o"
  "CMakeFiles/clipdebias.dir/tools/cli/main.c.o.d"
  "clipdebias"
  "clipdebias.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/clipdebias.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
