CMakeFiles/clipdebias_engine.dir/ops/gemm_neon.c.o: \
 /work/main/ops/gemm_neon.c /usr/include/stdc-predef.h \
 /work/main/ops/gemm.h /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h \
 /work/main/core/cpu.h
