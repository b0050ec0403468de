#!/usr/bin/env bash
# The checks of tests/embed_checks.sh with the reference model (../shared/reference/tiny, or
# $CLIPDEBIAS_REFERENCE/tiny); skipped (exit 77) when it is absent.
# usage: bash tests/cli_embed_reference.sh path/to/clipdebias   (from the repository root)
set -u
BIN=${1:?usage: cli_embed_reference.sh path/to/clipdebias}
REF=${CLIPDEBIAS_REFERENCE:-../shared/reference}
[ -d "$REF/tiny" ] || { echo "reference model $REF/tiny absent: skipped"; exit 77; }
MODEL=$REF/tiny
OTHER=$REF/tiny/openai.safetensors
. tests/check_lib.sh
. tests/embed_checks.sh
finish cli_embed_reference
