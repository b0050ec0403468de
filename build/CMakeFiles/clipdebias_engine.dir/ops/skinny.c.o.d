CMakeFiles/clipdebias_engine.dir/ops/skinny.c.o: \
 /work/wt/report/ops/skinny.c /usr/include/stdc-predef.h \
 /work/wt/report/ops/skinny.h /work/wt/report/core/cpu.h \
 /usr/lib/gcc/x86_64-linux-gnu/12/include/stddef.h
