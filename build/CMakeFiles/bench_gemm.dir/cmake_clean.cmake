file(REMOVE_RECURSE
  "CMakeFiles/bench_gemm.dir/bench/bench_gemm.c.o"
  "CMakeFiles/bench_gemm.dir/bench/bench_gemm.c.o.d"
  "bench_gemm"
  "bench_gemm.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/bench_gemm.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
