file(REMOVE_RECURSE
  "CMakeFiles/bench_tune.dir/bench/bench_tune.c.o"
  "CMakeFiles/bench_tune.dir/bench/bench_tune.c.o.d"
  "bench_tune"
  "bench_tune.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/bench_tune.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
