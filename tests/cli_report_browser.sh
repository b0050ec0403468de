#!/usr/bin/env bash
# report.html and sweep.html in a real browser: headless Chromium renders the page of the full run fixture
# to a PNG, which the engine's own PNG decoder (tool_pagecheck png) must find not blank: most
# of it painted, many colours, and every method's bar colour present (the inline SVG drew).
# The page must need nothing from the network: Chromium runs with a proxy on a dead loopback
# port and a net log, and the log must hold no request the page made. A deliberately leaky
# page is rendered the same way first and must show its requests in the log, so the check
# can fail. Skipped (77) without /usr/bin/chromium (CHROMIUM=path to use another).
# CLIPDEBIAS_SHOT_DIR=DIR keeps the screenshot there.
set -u
export LC_ALL=C
BIN=${1:?usage: cli_report_browser.sh path/to/clipdebias}
CHECKER=$(dirname "$BIN")/tool_pagecheck
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  echo "skip: $CHROMIUM not installed"
  exit 77
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fails=0
ok() { echo "  ok   $1"; }
bad() { fails=$((fails + 1)); echo "  FAIL $1"; }

# A loopback port nothing listens on: every request through the proxy fails at once.
port=9
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done

# shoot PAGE PNG NETLOG: one headless render with a fresh profile, no network.
shoot() {
  local profile
  profile=$(mktemp -d "$TMP/profile.XXXXXX")
  timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --disable-extensions \
    --user-data-dir="$profile" --proxy-server="http://127.0.0.1:$port" --hide-scrollbars \
    --window-size=1200,4200 --log-net-log="$3" --screenshot="$2" "file://$1" >"$TMP/chromium.log" 2>&1
  local rc=$?
  [ $rc -eq 0 ] && [ -s "$2" ] && [ -s "$3" ] && return 0
  echo "  chromium exit $rc; last lines of its output:"
  tail -n 5 "$TMP/chromium.log" | sed 's/^/       | /'
  return 1
}

# page_requests NETLOG: URLs of requests the page itself started. Chromium's own background
# traffic (update checks, sign-in) carries initiator "not an origin"; a file:// page's
# subresource loads carry the page's opaque origin ("null"), a remote one its origin.
page_requests() {
  grep -F '"initiator":' "$1" | grep -v -F '"initiator":"not an origin"' |
    grep -o '"url":"[^"]*"' | sort -u
}

echo "== control: a page that loads from the network is caught"
cat >"$TMP/leak.html" <<'EOF'
<!DOCTYPE html>
<html><head><link rel="stylesheet" href="https://leak.invalid/a.css"/>
<style>body{background:url(http://leak.invalid/b.png)}</style></head>
<body><p>leak</p><img src="http://leak.invalid/c.png"/></body></html>
EOF
if shoot "$TMP/leak.html" "$TMP/leak.png" "$TMP/leak.netlog"; then
  n=$(page_requests "$TMP/leak.netlog" | grep -c 'leak.invalid')
  [ "$n" -ge 3 ] && ok "the net log shows the leaky page's $n requests" ||
    bad "the net log shows $n of the leaky page's 3 requests: the check below could not see a leak"
else
  bad "chromium did not render the control page"
fi

echo "== report.html of the full run fixture"
cp -r tests/fixtures/report/full "$TMP/run"
"$BIN" report --run "$TMP/run" >/dev/null || bad "clipdebias report failed"
# Other local files would load without touching the network stack: the static check rules
# them out (every src= a data: URI, every href= a #fragment).
"$CHECKER" xml "$TMP/run/report.html" >/dev/null && ok "well-formed, no reference outside the page" || bad "static page check"
if shoot "$TMP/run/report.html" "$TMP/report.png" "$TMP/report.netlog"; then
  [ -n "${CLIPDEBIAS_SHOT_DIR:-}" ] && cp "$TMP/report.png" "$CLIPDEBIAS_SHOT_DIR/report.png"
  # width height background non-background distinct, then count per method colour
  # (zero-shot, ERM, DPT, oracle, GroupDRO bar fills).
  stats=$("$CHECKER" png "$TMP/report.png" '#8C8C8C' '#E69F00' '#0072B2' '#009E73' '#D55E00') || bad "screenshot not decodable"
  echo "  screenshot: $stats"
  read -r w h bg painted colours rest <<<"$stats"
  total=$((w * h))
  [ "$bg" = "#ffffff" ] && ok "white page background" || bad "background $bg"
  [ $((painted * 100)) -ge $((total * 5)) ] && ok "$painted of $total pixels painted (>= 5%)" || bad "only $painted of $total pixels painted: blank?"
  [ "$colours" -ge 200 ] && ok "$colours distinct colours (>= 200: text, lines, fills)" || bad "only $colours colours"
  for kv in $rest; do
    c=${kv%%=*} n=${kv#*=}
    [ "$n" -ge 500 ] && ok "bar colour $c: $n pixels" || bad "bar colour $c: $n pixels (< 500): the SVG did not draw"
  done
  reqs=$(page_requests "$TMP/report.netlog")
  events=$(grep -c '"type":' "$TMP/report.netlog")
  [ "$events" -gt 0 ] || bad "empty net log"
  if [ -z "$reqs" ]; then
    ok "no request from the page in a net log of $events events"
  else
    bad "the page made requests:"
    echo "$reqs" | sed 's/^/       | /'
  fi
else
  bad "chromium did not render report.html"
fi

echo "== sweep.html of a small sweep (fixture model, dims x eta)"
"$BIN" embed --dataset waterbirds --root tests/fixtures/datasets/waterbirds/wilds --skip-bad \
  --model tests/fixtures/model/hf_f32 --out "$TMP/cache" >/dev/null 2>&1 || bad "embed failed"
"$BIN" sweep --caches "$TMP/cache" --model tests/fixtures/model/hf_f32 --out "$TMP/sweep" --dims 4,8,full \
  --eta 1,2 --epochs 2 --seeds 0,1 --threads 1 >/dev/null 2>&1 || bad "clipdebias sweep failed"
"$CHECKER" xml-links "$TMP/sweep/sweep.html" >/dev/null && ok "well-formed, nothing outside the page but links to the cells' reports" ||
  bad "static page check of sweep.html"
if shoot "$TMP/sweep/sweep.html" "$TMP/sweep.png" "$TMP/sweep.netlog"; then
  [ -n "${CLIPDEBIAS_SHOT_DIR:-}" ] && cp "$TMP/sweep.png" "$CLIPDEBIAS_SHOT_DIR/sweep.png"
  # the darkest heat-map cells are DPT's #0072B2 (on the fixture the methods' lines coincide)
  stats=$("$CHECKER" png "$TMP/sweep.png" '#0072B2') || bad "screenshot not decodable"
  echo "  screenshot: $stats"
  read -r w h bg painted colours rest <<<"$stats"
  total=$((w * h))
  [ "$bg" = "#ffffff" ] && ok "white page background" || bad "background $bg"
  [ $((painted * 1000)) -ge $((total * 15)) ] && ok "$painted of $total pixels painted (>= 1.5%)" || bad "only $painted of $total pixels painted: blank?"
  [ "$colours" -ge 100 ] && ok "$colours distinct colours (>= 100)" || bad "only $colours colours"
  for kv in $rest; do
    c=${kv%%=*} n=${kv#*=}
    [ "$n" -ge 2000 ] && ok "colour $c: $n pixels" || bad "colour $c: $n pixels (< 2000): the heat maps did not draw"
  done
  reqs=$(page_requests "$TMP/sweep.netlog")
  if [ -z "$reqs" ]; then ok "no request from sweep.html"; else bad "sweep.html made requests:"; echo "$reqs" | sed 's/^/       | /'; fi
else
  bad "chromium did not render sweep.html"
fi

echo "cli_report_browser: $fails failed"
[ $fails -eq 0 ]
