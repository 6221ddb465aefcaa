#!/usr/bin/env bash
# The README demo: set up a venv, start the EM emulator, run examples/demo.yml twice
# (a change, then an idempotent re-run), print what the emulator received, stop it.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${VEEAM_EM_DEMO_WORK:-${TMPDIR:-/tmp}/veeam_em-demo}"
PY="$(command -v python3.11 || command -v python3)"
mkdir -p "$WORK/collections/ansible_collections/veeam_em"
ln -sfn "$REPO" "$WORK/collections/ansible_collections/veeam_em/core"

if [ ! -x "$WORK/venv/bin/ansible-playbook" ]; then
  echo "== installing ansible-core, requests, lxml and trustme into $WORK/venv"
  "$PY" -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install -q --disable-pip-version-check 'ansible-core>=2.16' requests lxml trustme 2>&1 \
    | grep -v 'is ignored: it is neither' || true
fi
export PATH="$WORK/venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$WORK/collections" ANSIBLE_NOCOLOR=1
export ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0

echo "== starting the emulator"
rm -f "$WORK/ready"
"$WORK/venv/bin/python" "$REPO/tests/emulator/em-emulator" --port 0 --ready-file "$WORK/ready" \
  --ca-file "$WORK/ca.pem" --username demo --password demo-password --task-running-seconds 1 \
  --max-lifetime 600 >"$WORK/emulator.log" 2>&1 &
EMU=$!
trap 'kill $EMU 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$WORK/ready" ] && break; sleep 0.1; done
[ -s "$WORK/ready" ] || { cat "$WORK/emulator.log"; exit 1; }
URL=$(cat "$WORK/ready")
echo "   $URL (CA: $WORK/ca.pem)"
export VEEAM_EM_SERVER="$URL" VEEAM_EM_USERNAME=demo VEEAM_EM_PASSWORD=demo-password VEEAM_EM_CA_PATH="$WORK/ca.pem"

for run in first second; do
  echo
  echo "== $run run of examples/demo.yml"
  "$WORK/venv/bin/python" - "$URL" "$WORK/ca.pem" <<'PY'
import sys, requests
requests.delete(sys.argv[1] + '/_emulator/log', verify=sys.argv[2], timeout=10)
PY
  ansible-playbook -i localhost, --diff -e ansible_python_interpreter="$WORK/venv/bin/python" "$REPO/examples/demo.yml"
  "$WORK/venv/bin/python" - "$URL" "$WORK/ca.pem" <<'PY'
import sys, requests
log = requests.get(sys.argv[1] + '/_emulator/log', verify=sys.argv[2], timeout=10).json()
api = [e for e in log if e['path'].startswith('/api')]
puts = [e for e in api if e['method'] == 'PUT']
print('emulator saw %d requests, %d of them PUT:' % (len(api), len(puts)))
for e in api:
    print('   %-6s %s%s -> %s' % (e['method'], e['path'], ('?' + e['query']) if e.get('query') else '', e['status']))
PY
done
