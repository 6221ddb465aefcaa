#!/usr/bin/env bash
# Run every test of veeam_em.core on this machine: the emulator's own tests, the unit
# tests and the end-to-end playbook tests against the emulator, once per supported
# ansible-core release. Installs what it needs into venvs under $WORK (reused when
# present). The last line is the summary: "N passed, N failed, N skipped".
#
#   tests/run.sh                       # everything
#   TEST_MATRIX="2.19:3.11" tests/run.sh   # one ansible-core release : controller Python
#   TEST_STEPS="units e2e" tests/run.sh    # some steps only (sanity emulator units integration e2e lxml release)
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${VEEAM_EM_TEST_WORK:-${TMPDIR:-/tmp}/veeam_em-tests}"
MATRIX="${TEST_MATRIX:-2.16:3.11 2.19:3.11 2.20:3.12 2.21:3.13}"
STEPS="${TEST_STEPS:-sanity emulator units integration e2e release}"
# The end-to-end suite runs whole under every reading of EM's undocumented PUT behaviour on
# the first release of the matrix; on the others, its per-release part under the strictest
# reading (and whole once more at -vvv, for the secrets sweep).
FULL_MODES="reject:replace reject:deep ignore:replace ignore:deep"
QUICK_MODES="reject:replace"
E2E_PER_RELEASE="tests/e2e/test_job.py tests/e2e/test_jobs.py tests/e2e/test_examples.py tests/e2e/test_role.py"
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

step() {  # step NAME CMD...: run a non-pytest check and record it as one JUnit test case
  local name=$1; shift
  log "== $name"
  local t0=$SECONDS rc
  (cd "$COLL" && "$@") >"$WORK/logs/$name.log" 2>&1
  rc=$?
  "$PYBIN/python3.11" - "$JUNIT/$name.xml" "$name" "$rc" "$((SECONDS - t0))" "$WORK/logs/$name.log" <<'PY'
import sys
from xml.sax.saxutils import escape, quoteattr
out, name, rc, secs, logf = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
tail = ''.join(open(logf, errors='replace').readlines()[-40:])
fail = '<failure message=%s>%s</failure>' % (quoteattr('exit %d' % rc), escape(tail)) if rc else ''
open(out, 'w').write('<testsuite name=%s tests="1" failures="%d" errors="0" skipped="0"><testcase name=%s time=%s>%s'
                     '</testcase></testsuite>' % (quoteattr(name), 1 if rc else 0, quoteattr(name), quoteattr(secs), fail))
PY
  if [ $rc -ne 0 ]; then log "   FAILED (exit $rc), last lines of $WORK/logs/$name.log:"; tail -n 25 "$WORK/logs/$name.log" | sed 's/^/   /' >&2; fi
  return $rc
}

run_ansible_test() {  # run_ansible_test NAME VENV ARGS...: ansible-test ARGS in the collection copy
  # Its JUnit reports (pytest's for units, one per target for integration) go to $JUNIT as NAME-*.xml,
  # so the summary counts every test; an exit that left no failure in them is a step error.
  local name=$1 venv=$2; shift 2
  log "== $name"
  rm -rf "$COLL/tests/output"
  local t0=$SECONDS rc f
  (cd "$COLL" && PATH="$venv/bin:$PYBIN:$PATH" ansible-test "$@" --color no) >"$WORK/logs/$name.log" 2>&1
  rc=$?
  log "   ansible-test $1 exit $rc after $((SECONDS - t0))s"
  for f in "$COLL"/tests/output/junit/*.xml; do [ -e "$f" ] && cp "$f" "$JUNIT/$name-$(basename "$f")"; done
  rm -rf "$COLL/tests/output"
  grep -hE '^(=+ .* in [0-9.]+s|testhost +:)' "$WORK/logs/$name.log" | tail -n 8 | sed 's/^/   /' >&2
  if [ $rc -ne 0 ]; then
    grep -qsE '(failures|errors)="[1-9]' "$JUNIT/$name"-*.xml || ERRORS+=("$name (ansible-test exit $rc, see $WORK/logs/$name.log)")
    grep -E '^(FAILED|ERROR) |^fatal: |^FATAL|^ERROR:' "$WORK/logs/$name.log" | grep -v 'ignoring' | head -n 20 | sed 's/^/   /' >&2
  fi
}

prime_get_pip() {  # ansible-test fetches get-pip.py from a host this machine cannot reach: stand in for it
  local py=$1 at pipv cache="$HOME/.ansible/test/cache"
  at=$("$py" -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))') || return 1
  pipv=$(sed -n "s/^ *pip='\([0-9.]*\)',.*/\1/p" "$at/_internal/python_requirements.py" | head -n 1)
  [ -n "$pipv" ] || return 0
  mkdir -p "$cache"
  ls "$cache"/pip-"$pipv"-*.whl >/dev/null 2>&1 || "$py" -m pip download -q --no-deps -d "$cache" "pip==$pipv" >&2 || return 1
  cat >"$cache/get_pip_${pipv//./_}.py" <<PYEOF
import glob, os, sys
sys.path.insert(0, glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'pip-$pipv-*.whl'))[0])
from pip._internal.cli.main import main
sys.exit(main(['install', '--upgrade', '--force-reinstall'] + [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]))
PYEOF
}

TEST_PKGS=(requests lxml trustme pytest pytest-timeout pytest-xdist responses hypothesis)
# The e2e run of this matrix entry (not the first) is at -vvv with ANSIBLE_LOG_PATH, then swept for secrets (check 24).
VERBOSE_ENTRY="${TEST_E2E_VERBOSE:-2.20:3.12}"
# The XML-attack tests (checks 22 and 23) on every lxml a controller may have: Debian 12's own (4.9.2), 5.x, 6.0.x
# and >= 6.1 (each word: "debian", a release series, or SERIES+ for that one or newer).
LXML_SERIES="${TEST_LXML:-debian 5 6.0 6.1+}"
XML_TESTS=(tests/unit/plugins/module_utils/test_xml.py tests/e2e/test_reliability.py::test_xxe_file_and_network_entities_are_refused
           tests/e2e/test_reliability.py::test_expansion_bombs_fail_fast tests/e2e/test_reliability.py::test_attacks_keep_memory_bounded)

lxml_matrix() {  # one small venv per lxml under $WORK/venvs/lxml-<series>; JUnit names lxml-<installed version>
  local series dir ver pkgs=() lxml p
  for p in "${TEST_PKGS[@]}"; do [ "$p" = lxml ] || pkgs+=("$p"); done
  for series in $LXML_SERIES; do
    dir="$WORK/venvs/lxml-$series"
    case $series in
      debian) lxml=() ;;
      *+) lxml=("lxml>=${series%+}") ;;
      *) lxml=("lxml==$series.*") ;;
    esac
    if [ "$series" = debian ]; then  # apt's python3-lxml through --system-site-packages; else pip's 4.9.2 stands in
      if /usr/bin/python3.11 -c 'import lxml' 2>/dev/null; then
        [ -x "$dir/bin/python" ] || /usr/bin/python3.11 -m venv --system-site-packages "$dir" || { ERRORS+=("venv lxml-$series"); continue; }
      else
        log "   python3-lxml is not installed: pip's lxml 4.9.2 stands in for Debian's"
        dir="$WORK/venvs/lxml-4.9.2-pip"; lxml=("lxml==4.9.2")
      fi
    fi
    log "== install lxml ${lxml[*]:-from Debian}"
    mkvenv "$dir" 3.11 'ansible-core==2.19.*' "${pkgs[@]}" "${lxml[@]}" || { ERRORS+=("install lxml-$series"); continue; }
    ver=$("$dir/bin/python" -c 'from lxml import etree; print(".".join(map(str, etree.LXML_VERSION[:3])))') \
      || { ERRORS+=("lxml-$series does not import"); continue; }
    run_pytest "lxml-$ver" "$dir" -n 2 "${XML_TESTS[@]}"
  done
}

first=1
for entry in $MATRIX; do
  core=${entry%%:*}; py=${entry##*:}
  if [ ! -x "$PYBIN/python$py" ]; then ERRORS+=("python$py missing for ansible-core $core"); continue; fi
  V="$WORK/venvs/core$core-py$py"
  log "== install ansible-core $core on Python $py"
  if ! mkvenv "$V" "$py" "ansible-core==$core.*" "${TEST_PKGS[@]}"; then ERRORS+=("install core$core"); continue; fi
  if [[ " $STEPS " == *" sanity "* ]]; then
    prime_get_pip "$V/bin/python"
    step "sanity-core$core-py$py" env PATH="$V/bin:$PATH" ansible-test sanity --python "$py" --local --color no --requirements
    rm -rf "$COLL/tests/output"
  fi
  if [ $first -eq 1 ] && [[ " $STEPS " == *" emulator "* ]]; then
    run_pytest "emulator-py$py" "$V" tests/emulator/tests
  fi
  if [[ " $STEPS " == *" units "* ]]; then
    prime_get_pip "$V/bin/python"
    run_ansible_test "units-core$core-py$py" "$V" units --python "$py" --local --requirements
  fi
  if [[ " $STEPS " == *" integration "* ]]; then  # tests/integration/targets, each against its own emulator
    run_ansible_test "integration-core$core-py$py" "$V" integration --python "$py" --local --continue-on-error
  fi
  if [[ " $STEPS " == *" e2e "* ]]; then
    modes=$QUICK_MODES; [ $first -eq 1 ] && modes=$FULL_MODES
    verbose=""; [ $first -eq 0 ] && [ "$entry" = "$VERBOSE_ENTRY" ] && verbose="$WORK/e2e-verbose-core$core-py$py"
    [ -n "$verbose" ] && rm -rf "$verbose"
    # The whole suite runs on the first release (every PUT reading) and in the -vvv run. The other releases
    # run what depends on ansible-core (argument handling, check and diff mode, the EXAMPLES, the role, the
    # bulk module); the client's fault handling is the same code on each, and the integration targets
    # above have already run every module on this release.
    select=(tests/e2e); [ $first -eq 0 ] && [ -z "$verbose" ] && select=(-m "not slow" $E2E_PER_RELEASE)
    E2E_MODES="$modes" E2E_VERBOSE_DIR="$verbose" run_pytest "e2e-core$core-py$py" "$V" -n 2 "${select[@]}"
    if [ -n "$verbose" ]; then  # every byte that -vvv run left behind: no password, no base64(user:pass), no session
      E2E_VERBOSE_DIR="$verbose" run_pytest "secrets-sweep-core$core-py$py" "$V" tests/e2e/sweep_secrets.py
    fi
    if [ $first -eq 1 ]; then  # the benchmark itself is slow; a small run proves it still works
      step "benchmark-smoke" env PATH="$V/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$WORK" "$V/bin/python" benchmarks/bulk.py \
        --jobs 12 --latency-ms 5 --task-seconds 0.2 --changed 3 --rss-jobs 50 --check
    fi
  fi
  if [ $first -eq 1 ] && [[ " $STEPS " == *" e2e "* || " $STEPS " == *" lxml "* ]]; then
    lxml_matrix
  fi
  first=0
done

# Unit tests of the module code on the older Pythons the modules support (tests/config.yml), which
# no controller of the matrix runs: ansible-test 2.19 makes a venv per target Python (it supports 3.8-3.13).
if [[ " $STEPS " == *" units "* ]]; then
  V="$WORK/venvs/core2.19-py3.11"
  if mkvenv "$V" 3.11 "ansible-core==2.19.*" "${TEST_PKGS[@]}" && prime_get_pip "$V/bin/python"; then
    for py in 3.9 3.10; do
      [ -x "$PYBIN/python$py" ] || { ERRORS+=("python$py missing for the unit tests"); continue; }
      run_ansible_test "units-py$py" "$V" units --python "$py" --venv --requirements
    done
  else
    ERRORS+=("install units core2.19")
  fi
fi

# Release checks: changelog, docs, build and Galaxy import, lint (one tools venv).
if [[ " $STEPS " == *" release "* ]]; then
  T="$WORK/venvs/tools"
  log "== install release tools"
  if mkvenv "$T" 3.11 'ansible-core==2.19.*' antsibull-changelog antsibull-docs ansible-lint galaxy-importer ansible-builder; then
    inT() { env PATH="$T/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$WORK" "$@"; }
    step changelog-lint inT antsibull-changelog lint
    step docs-lint inT antsibull-docs lint-collection-docs --plugin-docs --skip-rstcheck .
    step ansible-lint inT ansible-lint --nocolor
    rm -rf "$WORK/dist"
    step galaxy-build inT ansible-galaxy collection build --force --output-path "$WORK/dist"
    step ee-create inT sh -c "cp $WORK/dist/veeam_em-core-*.tar.gz tests/ci/veeam_em-core.tar.gz && \
      ansible-builder create -f tests/ci/execution-environment.yml --context '$WORK/ee' --output-filename Containerfile && \
      grep -q 'veeam_em-core.tar.gz' '$WORK/ee/Containerfile' && rm tests/ci/veeam_em-core.tar.gz"
    step docs-site inT tests/ci/docs.sh "$T" "$WORK"
    step galaxy-importer inT env GALAXY_IMPORTER_CONFIG="$COLL/tests/ci/galaxy-importer.cfg" sh -c \
      "cd '$WORK/dist' && python -m galaxy_importer.main $WORK/dist/veeam_em-core-*.tar.gz && ! grep -q '\"level\": \"ERROR\"' importer_result.json"
  else
    ERRORS+=("install release tools")
  fi
fi

"$PYBIN/python3.11" "$REPO/tests/junit_summary.py" "$JUNIT" "${ERRORS[@]}"
