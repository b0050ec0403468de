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
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
checks=0
fails=0
ok() { checks=$((checks + 1)); echo "  ok   $1"; }
bad() { checks=$((checks + 1)); fails=$((fails + 1)); echo "  FAIL $1"; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
. tests/embed_checks.sh
echo "cli_embed_reference: $checks checks, $fails failed"
[ $fails -eq 0 ]
