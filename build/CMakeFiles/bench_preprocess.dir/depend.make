# Empty dependencies file for bench_preprocess.
# This may be replaced when dependencies are built.
