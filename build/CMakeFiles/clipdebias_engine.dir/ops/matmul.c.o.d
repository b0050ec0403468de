CMakeFiles/clipdebias_engine.dir/ops/matmul.c.o: \
 /work/wt/report/ops/matmul.c /usr/include/stdc-predef.h \
 /work/wt/report/ops/gemm.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h \
 /work/wt/report/core/cpu.h /work/wt/report/ops/ops.h
