
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/wt/report/core/cpu.c" "CMakeFiles/clipdebias_engine.dir/core/cpu.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/core/cpu.c.o.d"
  "/work/wt/report/core/dtype.c" "CMakeFiles/clipdebias_engine.dir/core/dtype.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/core/dtype.c.o.d"
  "/work/wt/report/core/error.c" "CMakeFiles/clipdebias_engine.dir/core/error.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/core/error.c.o.d"
  "/work/wt/report/core/file.c" "CMakeFiles/clipdebias_engine.dir/core/file.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/core/file.c.o.d"
  "/work/wt/report/core/inflate.c" "CMakeFiles/clipdebias_engine.dir/core/inflate.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/core/inflate.c.o.d"
  "/work/wt/report/core/json.c" "CMakeFiles/clipdebias_engine.dir/core/json.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/core/json.c.o.d"
  "/work/wt/report/core/npy.c" "CMakeFiles/clipdebias_engine.dir/core/npy.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/core/npy.c.o.d"
  "/work/wt/report/core/progress.c" "CMakeFiles/clipdebias_engine.dir/core/progress.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/core/progress.c.o.d"
  "/work/wt/report/core/safetensors.c" "CMakeFiles/clipdebias_engine.dir/core/safetensors.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/core/safetensors.c.o.d"
  "/work/wt/report/data/image/image.c" "CMakeFiles/clipdebias_engine.dir/data/image/image.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/data/image/image.c.o.d"
  "/work/wt/report/data/image/image_batch.c" "CMakeFiles/clipdebias_engine.dir/data/image/image_batch.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/data/image/image_batch.c.o.d"
  "/work/wt/report/data/image/jpeg.c" "CMakeFiles/clipdebias_engine.dir/data/image/jpeg.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/data/image/jpeg.c.o.d"
  "/work/wt/report/data/image/jpeg_color.c" "CMakeFiles/clipdebias_engine.dir/data/image/jpeg_color.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/data/image/jpeg_color.c.o.d"
  "/work/wt/report/data/image/jpeg_color_avx2.c" "CMakeFiles/clipdebias_engine.dir/data/image/jpeg_color_avx2.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/data/image/jpeg_color_avx2.c.o.d"
  "/work/wt/report/data/image/jpeg_idct.c" "CMakeFiles/clipdebias_engine.dir/data/image/jpeg_idct.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/data/image/jpeg_idct.c.o.d"
  "/work/wt/report/data/image/jpeg_idct_avx2.c" "CMakeFiles/clipdebias_engine.dir/data/image/jpeg_idct_avx2.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/data/image/jpeg_idct_avx2.c.o.d"
  "/work/wt/report/data/image/png.c" "CMakeFiles/clipdebias_engine.dir/data/image/png.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/data/image/png.c.o.d"
  "/work/wt/report/data/image/ppm.c" "CMakeFiles/clipdebias_engine.dir/data/image/ppm.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/data/image/ppm.c.o.d"
  "/work/wt/report/data/image/preprocess.c" "CMakeFiles/clipdebias_engine.dir/data/image/preprocess.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/data/image/preprocess.c.o.d"
  "/work/wt/report/data/image/resize.c" "CMakeFiles/clipdebias_engine.dir/data/image/resize.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/data/image/resize.c.o.d"
  "/work/wt/report/data/image/resize_avx2.c" "CMakeFiles/clipdebias_engine.dir/data/image/resize_avx2.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/data/image/resize_avx2.c.o.d"
  "/work/wt/report/data/text/html_entities.c" "CMakeFiles/clipdebias_engine.dir/data/text/html_entities.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/data/text/html_entities.c.o.d"
  "/work/wt/report/data/text/tokenizer.c" "CMakeFiles/clipdebias_engine.dir/data/text/tokenizer.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/data/text/tokenizer.c.o.d"
  "/work/wt/report/data/text/unicode_tables.c" "CMakeFiles/clipdebias_engine.dir/data/text/unicode_tables.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/data/text/unicode_tables.c.o.d"
  "/work/wt/report/models/clip/api.c" "CMakeFiles/clipdebias_engine.dir/models/clip/api.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/models/clip/api.c.o.d"
  "/work/wt/report/models/clip/clip_block.c" "CMakeFiles/clipdebias_engine.dir/models/clip/clip_block.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/models/clip/clip_block.c.o.d"
  "/work/wt/report/models/clip/clip_load.c" "CMakeFiles/clipdebias_engine.dir/models/clip/clip_load.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/models/clip/clip_load.c.o.d"
  "/work/wt/report/models/clip/clip_text.c" "CMakeFiles/clipdebias_engine.dir/models/clip/clip_text.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/models/clip/clip_text.c.o.d"
  "/work/wt/report/models/clip/clip_vision.c" "CMakeFiles/clipdebias_engine.dir/models/clip/clip_vision.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/models/clip/clip_vision.c.o.d"
  "/work/wt/report/models/debias/report.c" "CMakeFiles/clipdebias_engine.dir/models/debias/report.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/models/debias/report.c.o.d"
  "/work/wt/report/models/debias/report_charts.c" "CMakeFiles/clipdebias_engine.dir/models/debias/report_charts.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/models/debias/report_charts.c.o.d"
  "/work/wt/report/models/debias/report_run.c" "CMakeFiles/clipdebias_engine.dir/models/debias/report_run.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/models/debias/report_run.c.o.d"
  "/work/wt/report/models/debias/report_svg.c" "CMakeFiles/clipdebias_engine.dir/models/debias/report_svg.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/models/debias/report_svg.c.o.d"
  "/work/wt/report/models/tuning/coop_loss.c" "CMakeFiles/clipdebias_engine.dir/models/tuning/coop_loss.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/models/tuning/coop_loss.c.o.d"
  "/work/wt/report/models/tuning/coop_train.c" "CMakeFiles/clipdebias_engine.dir/models/tuning/coop_train.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/models/tuning/coop_train.c.o.d"
  "/work/wt/report/models/tuning/optim.c" "CMakeFiles/clipdebias_engine.dir/models/tuning/optim.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/models/tuning/optim.c.o.d"
  "/work/wt/report/models/tuning/prompt.c" "CMakeFiles/clipdebias_engine.dir/models/tuning/prompt.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/models/tuning/prompt.c.o.d"
  "/work/wt/report/models/tuning/prompt_ckpt.c" "CMakeFiles/clipdebias_engine.dir/models/tuning/prompt_ckpt.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/models/tuning/prompt_ckpt.c.o.d"
  "/work/wt/report/models/tuning/prompt_text.c" "CMakeFiles/clipdebias_engine.dir/models/tuning/prompt_text.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/models/tuning/prompt_text.c.o.d"
  "/work/wt/report/models/tuning/text_train.c" "CMakeFiles/clipdebias_engine.dir/models/tuning/text_train.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/models/tuning/text_train.c.o.d"
  "/work/wt/report/ops/activation.c" "CMakeFiles/clipdebias_engine.dir/ops/activation.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/ops/activation.c.o.d"
  "/work/wt/report/ops/attention.c" "CMakeFiles/clipdebias_engine.dir/ops/attention.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/ops/attention.c.o.d"
  "/work/wt/report/ops/attention_segments.c" "CMakeFiles/clipdebias_engine.dir/ops/attention_segments.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/ops/attention_segments.c.o.d"
  "/work/wt/report/ops/elementwise.c" "CMakeFiles/clipdebias_engine.dir/ops/elementwise.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/ops/elementwise.c.o.d"
  "/work/wt/report/ops/gemm.c" "CMakeFiles/clipdebias_engine.dir/ops/gemm.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/ops/gemm.c.o.d"
  "/work/wt/report/ops/gemm_avx2.c" "CMakeFiles/clipdebias_engine.dir/ops/gemm_avx2.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/ops/gemm_avx2.c.o.d"
  "/work/wt/report/ops/gemm_avx512.c" "CMakeFiles/clipdebias_engine.dir/ops/gemm_avx512.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/ops/gemm_avx512.c.o.d"
  "/work/wt/report/ops/gemm_neon.c" "CMakeFiles/clipdebias_engine.dir/ops/gemm_neon.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/ops/gemm_neon.c.o.d"
  "/work/wt/report/ops/layernorm.c" "CMakeFiles/clipdebias_engine.dir/ops/layernorm.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/ops/layernorm.c.o.d"
  "/work/wt/report/ops/matmul.c" "CMakeFiles/clipdebias_engine.dir/ops/matmul.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/ops/matmul.c.o.d"
  "/work/wt/report/ops/ref.c" "CMakeFiles/clipdebias_engine.dir/ops/ref.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/ops/ref.c.o.d"
  "/work/wt/report/ops/skinny.c" "CMakeFiles/clipdebias_engine.dir/ops/skinny.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/ops/skinny.c.o.d"
  "/work/wt/report/ops/skinny_avx2.c" "CMakeFiles/clipdebias_engine.dir/ops/skinny_avx2.c.o" "gcc" "CMakeFiles/clipdebias_engine.dir/ops/skinny_avx2.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
