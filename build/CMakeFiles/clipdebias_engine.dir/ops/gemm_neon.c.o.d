CMakeFiles/clipdebias_engine.dir/ops/gemm_neon.c.o: \
 /work/wt/report/ops/gemm_neon.c /usr/include/stdc-predef.h \
 /work/wt/report/ops/gemm.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h \
 /work/wt/report/core/cpu.h
