/* clipdebias: the command-line program. Each command lives in its own cmd_<name>.c. */
#include <stdio.h>
#include <string.h>

#include "tools/cli/commands.h"

typedef struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} cd_command;

static const cd_command COMMANDS[] = {
    {"info", cd_cmd_info, "show a checkpoint's layout, sizes, dtype, and this CPU's features"},
    {"tokenize", cd_cmd_tokenize, "CLIP BPE token ids [N,77] of texts"},
    {"embed-text", cd_cmd_embed_text, "text features [N,D] (upstream encode_text)"},
    {"embed-image", cd_cmd_embed_image, "image features [N,D] (upstream encode_image) from pixels or files"},
    {"preprocess", cd_cmd_preprocess, "image files -> CLIP-preprocessed pixels [N,3,S,S]"},
    {"merge", cd_cmd_merge, "join the outputs of --shard i/n runs (.npy files or feature caches)"},
    {"prompt-grad", cd_cmd_prompt_grad, "CoOp loss and d loss / d context vectors"},
    {"tune", cd_cmd_tune, "CoOp prompt tuning on cached image features"},
    {"demo", cd_cmd_demo, "DPT end to end on the toy world and the toy CLIP that ship with clipdebias"},
    {"toyworld", cd_cmd_toyworld, "write the toy world: a procedural Waterbirds with a real spurious correlation"},
    {"dataset", cd_cmd_dataset, "find a data set on disk and print its split x group counts"},
    {"embed", cd_cmd_embed, "embed a data set once into a feature cache (shardable, resumable)"},
    {"report", cd_cmd_report, "rebuild RUN_DIR/report.html from a run's results"},
    {"run", cd_cmd_run, "zero-shot, pseudo labels, DPT and baselines over seeds: the robustness table"},
    {"sweep", cd_cmd_sweep, "a grid of runs over caches, embedding sizes and settings; locally or on Slurm"},
    {"zeroshot", cd_cmd_zeroshot, "zero-shot CLIP on a feature cache: predictions and group metrics"},
    {"pseudolabel", cd_cmd_pseudolabel, "pseudo spurious attributes from attribute prompts, and their accuracy"},
    {"discover", cd_cmd_discover, "find the spurious attribute from the classifier's mistakes (attribute prompts for run)"},
    {"eval", cd_cmd_eval, "group metrics of a tuned context on a feature cache"},
};

static void usage(FILE *fp) {
  fprintf(fp,
          "clipdebias - CLIP on CPUs, and prompt tuning robust to spurious correlations\n\n"
          "usage: clipdebias <command> [options]   (clipdebias <command> --help for details)\n\n"
          "commands:\n");
  for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
    fprintf(fp, "  %-14s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
  fprintf(fp,
          "\n--model accepts a Hugging Face CLIPModel folder, an OpenCLIP folder\n"
          "(open_clip_config.json + open_clip_model.safetensors) or one .safetensors file\n"
          "in OpenAI naming. Threads: --threads N or OMP_NUM_THREADS. Kernels: the best ISA\n"
          "level of this CPU, or --isa LEVEL / CLIPDEBIAS_ISA=LEVEL for a lower one (`info`\n"
          "lists what runs per op).\n");
}

int main(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return argc < 2 ? 1 : 0;
  }
  for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
    if (!strcmp(argv[1], COMMANDS[i].name)) return COMMANDS[i].run(argc - 1, argv + 1);
  fprintf(stderr, "clipdebias: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 1;
}
