file(REMOVE_RECURSE
  "CMakeFiles/bench_preprocess.dir/bench/bench_preprocess.c.o"
  "CMakeFiles/bench_preprocess.dir/bench/bench_preprocess.c.o.d"
  "bench_preprocess"
  "bench_preprocess.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/bench_preprocess.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
