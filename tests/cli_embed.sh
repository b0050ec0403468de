#!/usr/bin/env bash
# `clipdebias embed`, `merge` of cache shards and cache reuse on the synthetic data set trees,
# with the committed fixture model (see tests/embed_checks.sh for the list of checks).
# usage: bash tests/cli_embed.sh path/to/clipdebias   (from the repository root)
set -u
BIN=${1:?usage: cli_embed.sh path/to/clipdebias}
MODEL=tests/fixtures/model/hf_f32
OTHER=tests/fixtures/model/openclip_f32
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
checks=0
fails=0
ok() { checks=$((checks + 1)); echo "  ok   $1"; }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "  FAIL $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
. tests/embed_checks.sh
echo "cli_embed: $checks checks, $fails failed"
[ $fails -eq 0 ]
