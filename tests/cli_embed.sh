#!/usr/bin/env bash
# `clipdebias embed`, `merge` of cache shards and cache reuse on the synthetic data set trees,
# with the committed fixture model (see tests/embed_checks.sh for the list of checks).
# usage: bash tests/cli_embed.sh path/to/clipdebias   (from the repository root)
set -u
BIN=${1:?usage: cli_embed.sh path/to/clipdebias}
MODEL=tests/fixtures/model/hf_f32
OTHER=tests/fixtures/model/openclip_f32
. tests/check_lib.sh
. tests/embed_checks.sh
finish cli_embed
