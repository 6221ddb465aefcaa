#!/usr/bin/env bash
# Build the HTML docs site offline with antsibull-docs and check, in headless Chromium,
# that the job module's page rendered (title and option table). Leaves a screenshot.
#   tests/ci/docs.sh TOOLS_VENV WORKDIR     (run from the collection root, whose parent
#                                            path is ansible_collections/veeam_em/core)
set -euo pipefail
T=$1; OUT=$2
export PATH="$T/bin:$PATH"
rm -rf "$OUT/docsite" && mkdir -p "$OUT/artifacts" "$OUT/docsite" && chmod 700 "$OUT/docsite"
antsibull-docs sphinx-init --use-current --dest-dir "$OUT/docsite" veeam_em.core
"$T/bin/python" -m pip install -q --disable-pip-version-check -r "$OUT/docsite/requirements.txt" 2>&1 | grep -v 'is ignored' || true
# Offline: intersphinx cannot reach docs.python.org or docs.ansible.com from here.
cat >>"$OUT/docsite/conf.py" <<'PY'

import os as _os
if _os.environ.get('DOCS_OFFLINE'):
    intersphinx_mapping = {}
    suppress_warnings = ['ref.ref']
PY
(cd "$OUT/docsite" && DOCS_OFFLINE=1 ./build.sh)
page="$OUT/docsite/build/html/collections/veeam_em/core/job_module.html"
test -s "$page"
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
  if [ -n "${REQUIRE_CHROMIUM:-}" ]; then echo "chromium is not installed"; exit 1; fi
  echo "chromium not installed: rendering check skipped"; exit 0
fi
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --user-data-dir="$(mktemp -d)")
timeout 120 "$browser" "${flags[@]}" --virtual-time-budget=5000 --dump-dom "file://$page" >"$OUT/artifacts/job_module.dom.html" 2>/dev/null
timeout 120 "$browser" "${flags[@]}" --window-size=1280,1800 --screenshot="$OUT/artifacts/job_module.png" "file://$page" 2>/dev/null
"$T/bin/python" - "$OUT/artifacts/job_module.dom.html" "$OUT/artifacts/job_module.png" <<'PY'
import sys
dom = open(sys.argv[1], encoding='utf-8', errors='replace').read()
assert 'veeam_em.core.job module' in dom, 'page title missing from the rendered page'
for option in ('schedule', 'retention', 'guest_processing', 'wait_timeout'):
    assert 'parameter-' in dom and option in dom, 'option %s missing from the option table' % option
png = open(sys.argv[2], 'rb').read()
assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 10000, 'screenshot missing or empty'
print('rendered: title and option table present; screenshot %s (%d bytes)' % (sys.argv[2], len(png)))
PY
