CMakeFiles/clipdebias_engine.dir/ops/skinny.c.o: /work/main/ops/skinny.c \
 /usr/include/stdc-predef.h /work/main/ops/skinny.h /work/main/core/cpu.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h
