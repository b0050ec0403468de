file(REMOVE_RECURSE
  "CMakeFiles/tool_pagecheck.dir/tests/tool_pagecheck.c.o"
  "CMakeFiles/tool_pagecheck.dir/tests/tool_pagecheck.c.o.d"
  "tool_pagecheck"
  "tool_pagecheck.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/tool_pagecheck.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
