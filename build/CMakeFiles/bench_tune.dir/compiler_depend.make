# Empty compiler generated dependencies file for bench_tune.
# This may be replaced when dependencies are built.
