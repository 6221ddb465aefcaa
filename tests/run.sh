#!/usr/bin/env bash
# Run every test of veeam_em.core on this machine: the emulator's own tests, the unit
# tests and the end-to-end playbook tests against the emulator, once per supported
# ansible-core release. Installs what it needs into venvs under $WORK (reused when
# present). The last line is the summary: "N passed, N failed, N skipped".
#
#   tests/run.sh                       # everything
#   TEST_MATRIX="2.19:3.11" tests/run.sh   # one ansible-core release : controller Python
#   TEST_STEPS="units e2e" tests/run.sh    # some steps only (emulator units e2e docs)
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${VEEAM_EM_TEST_WORK:-${TMPDIR:-/tmp}/veeam_em-tests}"
MATRIX="${TEST_MATRIX:-2.16:3.11 2.19:3.11 2.20:3.12 2.21:3.13}"
STEPS="${TEST_STEPS:-emulator units e2e docs}"
# The end-to-end suite runs under every reading of EM's undocumented PUT behaviour on
# the first release of the matrix, and under the strictest reading on the others.
FULL_MODES="reject:replace reject:deep ignore:replace ignore:deep"
QUICK_MODES="reject:replace"
COLL="$WORK/ansible_collections/veeam_em/core"
JUNIT="$WORK/junit"
PYBIN="$WORK/pybin"
rm -rf "$JUNIT"; mkdir -p "$JUNIT" "$PYBIN" "$WORK/logs"
ERRORS=()

log() { printf '%s\n' "$*" >&2; }

# 1. Interpreters: pyenv's when present, else Debian's python3.11.
for mm in 3.9 3.10 3.11 3.12 3.13; do
  p=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$mm".*/bin/python"$mm" 2>/dev/null | sort -V | tail -n 1)
  [ -z "$p" ] && [ -x "/usr/bin/python$mm" ] && p="/usr/bin/python$mm"
  [ -n "$p" ] && ln -sfn "$p" "$PYBIN/python$mm"
done

# 2. The collection at a real ansible_collections/NS/NAME path.
rm -rf "$COLL" && mkdir -p "$COLL"
tar -C "$REPO" --exclude=./tests/output --exclude=./.git --exclude='*.pyc' --exclude=__pycache__ -cf - . | tar -C "$COLL" -xf -

mkvenv() {  # mkvenv DIR PY PKG...
  local dir=$1 py=$2; shift 2
  if [ ! -x "$dir/bin/python" ]; then "$PYBIN/python$py" -m venv "$dir" || return 1; fi
  "$dir/bin/python" -m pip install -q --disable-pip-version-check "$@" 2>&1 | grep -v 'is ignored: it is neither' >&2
  return "${PIPESTATUS[0]}"
}

run_pytest() {  # run_pytest NAME VENV ARGS... (cwd = collection copy)
  local name=$1 venv=$2; shift 2
  log "== $name"
  (cd "$COLL" && PATH="$venv/bin:$PATH" PYTHONPATH="$WORK" ANSIBLE_COLLECTIONS_PATH="$WORK" \
     "$venv/bin/python" -m pytest -q -p no:cacheprovider --junitxml="$JUNIT/$name.xml" "$@") >"$WORK/logs/$name.log" 2>&1
  local rc=$?
  tail -n 3 "$WORK/logs/$name.log" | sed 's/^/   /' >&2
  if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then ERRORS+=("$name (pytest exit $rc, see $WORK/logs/$name.log)"); fi
  if [ $rc -eq 1 ]; then grep -E '^(FAILED|ERROR) ' "$WORK/logs/$name.log" | head -n 20 | sed 's/^/   /' >&2; fi
}

TEST_PKGS=(requests lxml trustme pytest pytest-timeout responses hypothesis)
first=1
for entry in $MATRIX; do
  core=${entry%%:*}; py=${entry##*:}
  if [ ! -x "$PYBIN/python$py" ]; then ERRORS+=("python$py missing for ansible-core $core"); continue; fi
  V="$WORK/venvs/core$core-py$py"
  log "== install ansible-core $core on Python $py"
  if ! mkvenv "$V" "$py" "ansible-core==$core.*" "${TEST_PKGS[@]}"; then ERRORS+=("install core$core"); continue; fi
  if [ $first -eq 1 ] && [[ " $STEPS " == *" emulator "* ]]; then
    run_pytest "emulator-py$py" "$V" tests/emulator/tests
  fi
  if [[ " $STEPS " == *" units "* ]]; then
    run_pytest "units-core$core-py$py" "$V" tests/unit
  fi
  if [[ " $STEPS " == *" e2e "* ]]; then
    modes=$QUICK_MODES; [ $first -eq 1 ] && modes=$FULL_MODES
    E2E_MODES="$modes" run_pytest "e2e-core$core-py$py" "$V" tests/e2e
  fi
  first=0
done

# Unit tests of the module code on the other Pythons the modules support (no ansible-test needed).
if [[ " $STEPS " == *" units "* ]]; then
  for py in 3.9 3.10; do
    [ -x "$PYBIN/python$py" ] || continue
    V="$WORK/venvs/units-py$py"
    log "== install unit test deps on Python $py"
    mkvenv "$V" "$py" "ansible-core" "${TEST_PKGS[@]}" || { ERRORS+=("install units py$py"); continue; }
    run_pytest "units-py$py" "$V" tests/unit
  done
fi

"$PYBIN/python3.11" "$REPO/tests/junit_summary.py" "$JUNIT" "${ERRORS[@]}"
