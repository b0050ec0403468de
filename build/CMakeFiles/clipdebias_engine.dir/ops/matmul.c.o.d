CMakeFiles/clipdebias_engine.dir/ops/matmul.c.o: /work/main/ops/matmul.c \
 /usr/include/stdc-predef.h /work/main/ops/gemm.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h /work/main/core/cpu.h \
 /work/main/ops/ops.h
