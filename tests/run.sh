#!/usr/bin/env bash
# Run every test of veeam_em.core on this machine: ansible-test sanity, units and integration on
# each supported ansible-core release, the emulator's own tests, the end-to-end playbook tests
# against the emulator, the XML-attack tests on each lxml a controller may have, and the release
# checks. Installs what it needs into venvs under $WORK (reused when present). Independent parts
# run side by side in lanes. The last lines are a table of the steps and their seconds, then the
# summary: "N passed, N failed, N skipped".
#
#   tests/run.sh                           # everything (what CI runs; budget: 25 minutes)
#   TEST_QUICK=1 tests/run.sh              # the development loop: one release, every suite, no slow tests
#   TEST_MATRIX="2.19:3.11" tests/run.sh   # some releases (ansible-core : controller Python)
#   TEST_STEPS="units e2e" tests/run.sh    # some steps (sanity emulator units integration e2e lxml release)
#   TEST_LANES=1 tests/run.sh              # one step at a time
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${VEEAM_EM_TEST_WORK:-${TMPDIR:-/tmp}/veeam_em-tests}"
QUICK="${TEST_QUICK:-}"
if [ -n "$QUICK" ]; then
  MATRIX="${TEST_MATRIX:-2.19:3.11}"
  LXML_SERIES="${TEST_LXML:-debian}"
else
  MATRIX="${TEST_MATRIX:-2.16:3.11 2.19:3.11 2.20:3.12 2.21:3.13}"
  # The XML-attack tests (checks 22 and 23) on every lxml a controller may have: Debian 12's own (4.9.2),
  # 5.x, 6.0.x and >= 6.1 (each word: "debian", a release series, or SERIES+ for that one or newer).
  LXML_SERIES="${TEST_LXML:-debian 5 6.0 6.1+}"
fi
STEPS="${TEST_STEPS:-sanity emulator units integration e2e lxml release}"
LANES="${TEST_LANES:-3}"
# The whole end-to-end suite runs once, on this matrix entry (or the first one when it is not in the
# matrix): every test, every reading of EM's undocumented PUT behaviour, at -vvv with ANSIBLE_LOG_PATH,
# and then the secrets sweep over every byte it left. The other releases run the e2e tests whose
# outcome depends on ansible-core (argument handling, check and diff mode, the EXAMPLES, the roles,
# the bulk module), under one reading; the integration targets have run every module on them.
FULL_ENTRY="${TEST_E2E_FULL:-2.20:3.12}"
[[ " $MATRIX " == *" $FULL_ENTRY "* ]] || FULL_ENTRY="${MATRIX%% *}"
ALL_MODES="reject:replace reject:deep ignore:replace ignore:deep"
ONE_MODE="reject:replace"
E2E_PER_RELEASE="tests/e2e/test_job.py tests/e2e/test_jobs.py tests/e2e/test_role.py"
# The whole suite runs in two lanes side by side: the job tests (most of them under every reading), and
# everything else. Each lane sweeps its own -vvv output for secrets.
E2E_JOB_PART=('tests/e2e/test_job.py' 'tests/e2e/test_job_*.py' 'tests/e2e/test_reliability.py' 'tests/e2e/test_write_answers.py')
TEST_PKGS=(requests lxml trustme pytest pytest-timeout pytest-xdist responses hypothesis)
XML_TESTS=(tests/unit/plugins/module_utils/test_xml.py tests/e2e/test_reliability.py::test_xxe_file_and_network_entities_are_refused
           tests/e2e/test_reliability.py::test_expansion_bombs_fail_fast tests/e2e/test_reliability.py::test_attacks_keep_memory_bounded)

JUNIT="$WORK/junit"
PYBIN="$WORK/pybin"
TIMES="$WORK/steps.tsv"
ERRFILE="$WORK/step-errors"
mkdir -p "$WORK"
exec 9>"$WORK/.lock"  # two runs in one work folder would delete each other's lanes
flock -n 9 || { echo "tests/run.sh: another run is using $WORK (set VEEAM_EM_TEST_WORK to run beside it)" >&2; exit 2; }
rm -rf "$JUNIT" "$WORK/lanes" "$WORK/tmp" "$WORK/e2e-verbose"*
mkdir -p "$JUNIT" "$PYBIN" "$WORK/logs" "$WORK/lanes" "$WORK/tmp/run"
# Every temporary file of every step (pytest's own, ansible-test's, the integration targets' emulators,
# Chromium's profile) lands in one folder that goes at the end: nothing a test writes outlives the run.
export TMPDIR="$WORK/tmp/run"
: >"$TIMES"; : >"$ERRFILE"
T_START=$SECONDS

log() { printf '%s\n' "$*" >&2; }
error() { printf '%s\n' "$*" >>"$ERRFILE"; }
timed() {  # timed NAME RC SECONDS: one row of the step table
  printf '%s\t%s\t%s\n' "$1" "$3" "$([ "$2" -eq 0 ] && echo ok || echo "exit $2")" >>"$TIMES"
}
has_step() { [[ " $STEPS " == *" $1 "* ]]; }

# 1. Interpreters: pyenv's when present, else Debian's.
for mm in 3.9 3.10 3.11 3.12 3.13; do
  p=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$mm".*/bin/python"$mm" 2>/dev/null | sort -V | tail -n 1)
  [ -z "$p" ] && [ -x "/usr/bin/python$mm" ] && p="/usr/bin/python$mm"
  [ -n "$p" ] && ln -sfn "$p" "$PYBIN/python$mm"
done

# 2. The collection at a real ansible_collections/NS/NAME path, one copy per lane (ansible-test writes
#    tests/output in it), made from one tarball of the checkout.
tar -C "$REPO" --exclude=./tests/output --exclude=./.git --exclude='*.pyc' --exclude=__pycache__ -cf "$WORK/collection.tar" .
coll() {  # coll LANE: the lane's fresh copy; prints its path
  local c="$WORK/lanes/$1/ansible_collections/veeam_em/core"
  rm -rf "$c" && mkdir -p "$c" && tar -C "$c" -xf "$WORK/collection.tar" && printf '%s' "$c"
}

mkvenv() {  # mkvenv DIR PY PKG...
  local dir=$1 py=$2; shift 2
  if [ ! -x "$dir/bin/python" ]; then "$PYBIN/python$py" -m venv "$dir" || return 1; fi
  "$dir/bin/python" -m pip install -q --disable-pip-version-check "$@" 2>&1 | grep -v 'is ignored: it is neither' >&2
  return "${PIPESTATUS[0]}"
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

run_pytest() {  # run_pytest NAME VENV COLL ARGS...
  local name=$1 venv=$2 c=$3; shift 3
  log "== $name"
  local t0=$SECONDS rc
  (cd "$c" && PATH="$venv/bin:$PATH" PYTHONPATH="${c%/ansible_collections/*}" \
     ANSIBLE_COLLECTIONS_PATH="${c%/ansible_collections/*}" \
     "$venv/bin/python" -m pytest -q -p no:cacheprovider --basetemp="$WORK/tmp/$name" --junitxml="$JUNIT/$name.xml" "$@") \
     >"$WORK/logs/$name.log" 2>&1
  rc=$?
  rm -rf "$WORK/tmp/$name"  # nothing a test wrote outlives the run (pytest would keep its last three)
  timed "$name" $rc $((SECONDS - t0))
  tail -n 1 "$WORK/logs/$name.log" | sed "s/^/   $name: /" >&2
  if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then error "$name (pytest exit $rc, see $WORK/logs/$name.log)"; fi
  if [ $rc -eq 1 ]; then grep -E '^(FAILED|ERROR) ' "$WORK/logs/$name.log" | head -n 20 | sed 's/^/   /' >&2; fi
}

step() {  # step NAME DIR CMD...: run a non-pytest check in DIR and record it as one JUnit test case
  local name=$1 dir=$2; shift 2
  log "== $name"
  local t0=$SECONDS rc
  (cd "$dir" && "$@") >"$WORK/logs/$name.log" 2>&1
  rc=$?
  timed "$name" $rc $((SECONDS - t0))
  "$PYBIN/python3.11" - "$JUNIT/$name.xml" "$name" "$rc" "$((SECONDS - t0))" "$WORK/logs/$name.log" <<'PY'
import re
import sys
from xml.sax.saxutils import escape, quoteattr
out, name, rc, secs, logf = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
tail = ''.join(open(logf, errors='replace').readlines()[-40:])
tail = re.sub(r'\x1b\[[0-9;]*m|[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd]', '', tail)  # XML 1.0 holds no control characters
fail = '<failure message=%s>%s</failure>' % (quoteattr('exit %d' % rc), escape(tail)) if rc else ''
open(out, 'w').write('<testsuite name=%s tests="1" failures="%d" errors="0" skipped="0"><testcase name=%s time=%s>%s'
                     '</testcase></testsuite>' % (quoteattr(name), 1 if rc else 0, quoteattr(name), quoteattr(secs), fail))
PY
  if [ $rc -ne 0 ]; then log "   $name FAILED (exit $rc), last lines of $WORK/logs/$name.log:"; tail -n 25 "$WORK/logs/$name.log" | sed 's/^/   /' >&2; fi
  return $rc
}

run_ansible_test() {  # run_ansible_test NAME VENV COLL ARGS...: ansible-test ARGS in COLL
  # Its JUnit reports (pytest's for units, one per target for integration) go to $JUNIT as NAME-*.xml,
  # so the summary counts every test; an exit that left no failure in them is a step error.
  local name=$1 venv=$2 c=$3; shift 3
  log "== $name"
  rm -rf "$c/tests/output"
  local t0=$SECONDS rc f
  (cd "$c" && PATH="$venv/bin:$PYBIN:$PATH" ansible-test "$@" --color no) >"$WORK/logs/$name.log" 2>&1
  rc=$?
  timed "$name" $rc $((SECONDS - t0))
  for f in "$c"/tests/output/junit/*.xml; do [ -e "$f" ] && cp "$f" "$JUNIT/$name-$(basename "$f")"; done
  rm -rf "$c/tests/output"
  log "   $name: ansible-test $1 exit $rc after $((SECONDS - t0))s"
  if [ $rc -ne 0 ]; then
    grep -qsE '(failures|errors)="[1-9]' "$JUNIT/$name"-*.xml || error "$name (ansible-test exit $rc, see $WORK/logs/$name.log)"
    grep -E '^(FAILED|ERROR) |^fatal: |^FATAL|^ERROR:' "$WORK/logs/$name.log" | grep -v 'ignoring' | head -n 20 | sed 's/^/   /' >&2
  fi
}

core_venv() { printf '%s' "$WORK/venvs/core$1-py$2"; }

lxml_venv() {  # lxml_venv SERIES: its venv dir and pip requirement (tab-separated)
  case $1 in
    debian) if /usr/bin/python3.11 -c 'import lxml' 2>/dev/null; then printf '%s\t' "$WORK/venvs/lxml-debian"
            else printf '%s\t%s' "$WORK/venvs/lxml-4.9.2-pip" "lxml==4.9.2"; fi ;;  # pip's 4.9.2 stands in
    *+) printf '%s\t%s' "$WORK/venvs/lxml-$1" "lxml>=${1%+}" ;;
    *) printf '%s\t%s' "$WORK/venvs/lxml-$1" "lxml==$1.*" ;;
  esac
}

# 3. Every venv, before any lane starts (so that no two lanes build the same one), two at a time.
install_core() {  # install_core CORE PY
  local v; v=$(core_venv "$1" "$2")
  mkvenv "$v" "$2" "ansible-core==$1.*" "${TEST_PKGS[@]}" && prime_get_pip "$v/bin/python"
}
install_lxml() {  # install_lxml SERIES
  local dir req pkgs=() p
  IFS=$'\t' read -r dir req <<<"$(lxml_venv "$1")"
  for p in "${TEST_PKGS[@]}"; do [ "$p" = lxml ] || pkgs+=("$p"); done
  if [ -z "$req" ] && [ ! -x "$dir/bin/python" ]; then  # apt's python3-lxml through --system-site-packages
    /usr/bin/python3.11 -m venv --system-site-packages "$dir" || return 1
  fi
  mkvenv "$dir" 3.11 'ansible-core==2.19.*' "${pkgs[@]}" ${req:+"$req"}
}
install_tools() {
  mkvenv "$WORK/venvs/tools" 3.11 'ansible-core==2.19.*' antsibull-changelog antsibull-docs ansible-lint galaxy-importer \
    ansible-builder
}
install() {  # install NAME FUNC ARGS...: one venv, timed; a failure is a step error
  local name=$1 t0=$SECONDS rc; shift
  "$@" >"$WORK/logs/install-$name.log" 2>&1
  rc=$?
  timed "install-$name" $rc $((SECONDS - t0))
  [ $rc -eq 0 ] || error "install $name (see $WORK/logs/install-$name.log)"
  return $rc
}

pool() {  # pool CMD...: run CMD in the background once fewer than $LANES are running
  while [ "$(jobs -rp | wc -l)" -ge "$LANES" ]; do wait -n; done
  "$@" &
}

log "== installing venvs under $WORK/venvs ($LANES at a time)"
t_install=$SECONDS
need_core=0
for s in sanity emulator units integration e2e; do has_step $s && need_core=1; done
if [ $need_core -eq 1 ]; then
  for entry in $MATRIX; do
    core=${entry%%:*}; py=${entry##*:}
    if [ ! -x "$PYBIN/python$py" ]; then error "python$py missing for ansible-core $core"; continue; fi
    pool install "core$core-py$py" install_core "$core" "$py"
  done
fi
if has_step units && [ -z "$QUICK" ] && [[ " $MATRIX " != *" 2.19:3.11 "* ]]; then  # the older Pythons' units use it
  pool install core2.19-py3.11 install_core 2.19 3.11
fi
if has_step lxml; then for series in $LXML_SERIES; do pool install "lxml-$series" install_lxml "$series"; done; fi
if has_step release; then pool install tools install_tools; fi
wait
log "   venvs ready after $((SECONDS - t_install))s"

# 4. The lanes.
lane_release() {  # changelog, docs, build and Galaxy import, lint (the tools venv)
  local T="$WORK/venvs/tools" c
  [ -x "$T/bin/ansible-lint" ] || return 0
  c=$(coll release)
  inT() { env PATH="$T/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="${c%/ansible_collections/*}" "$@"; }
  step changelog-lint "$c" inT antsibull-changelog lint
  step docs-lint "$c" inT antsibull-docs lint-collection-docs --plugin-docs --skip-rstcheck .
  step ansible-lint "$c" inT ansible-lint --nocolor
  rm -rf "$WORK/dist"
  step galaxy-build "$c" inT ansible-galaxy collection build --force --output-path "$WORK/dist"
  step ee-create "$c" inT sh -c "cp $WORK/dist/veeam_em-core-*.tar.gz tests/ci/veeam_em-core.tar.gz && \
    ansible-builder create -f tests/ci/execution-environment.yml --context '$WORK/ee' --output-filename Containerfile && \
    grep -q 'veeam_em-core.tar.gz' '$WORK/ee/Containerfile' && rm tests/ci/veeam_em-core.tar.gz"
  step docs-site "$c" inT tests/ci/docs.sh "$T" "$WORK"
  step galaxy-importer "$c" inT env GALAXY_IMPORTER_CONFIG="$c/tests/ci/galaxy-importer.cfg" sh -c \
    "cd '$WORK/dist' && python -m galaxy_importer.main $WORK/dist/veeam_em-core-*.tar.gz && ! grep -q '\"level\": \"ERROR\"' importer_result.json"
}

lane_lxml() {  # the XML-attack tests on each lxml (JUnit names lxml-<installed version>)
  local series dir req ver c
  c=$(coll lxml)
  for series in $LXML_SERIES; do
    IFS=$'\t' read -r dir req <<<"$(lxml_venv "$series")"
    [ -x "$dir/bin/python" ] || continue
    ver=$("$dir/bin/python" -c 'from lxml import etree; print(".".join(map(str, etree.LXML_VERSION[:3])))') \
      || { error "lxml-$series does not import"; continue; }
    run_pytest "lxml-$ver" "$dir" "$c" -n 2 "${XML_TESTS[@]}"
  done
}

lane_old_pythons() {  # the unit tests on the older Pythons the modules support (tests/config.yml), which no
  # controller of the matrix runs: ansible-test 2.19 makes a venv per target Python
  local V c py
  V=$(core_venv 2.19 3.11)
  [ -x "$V/bin/ansible-test" ] || return 0
  c=$(coll old-pythons)
  for py in 3.9 3.10; do
    [ -x "$PYBIN/python$py" ] || { error "python$py missing for the unit tests"; continue; }
    run_ansible_test "units-py$py" "$V" "$c" units --python "$py" --venv --requirements
  done
}

lane_sanity() {  # lane_sanity ENTRY...: ansible-test sanity on these releases, one after the other
  local entry core py V c
  for entry in "$@"; do
    core=${entry%%:*}; py=${entry##*:}; V=$(core_venv "$core" "$py")
    [ -x "$V/bin/ansible-test" ] || continue
    c=$(coll "sanity-core$core")
    step "sanity-core$core-py$py" "$c" env PATH="$V/bin:$PYBIN:$PATH" ansible-test sanity --python "$py" --local --color no --requirements
    rm -rf "${c%/ansible_collections/*}"
  done
}

lane_checks() {  # lane_checks CORE PY: ansible-test units and integration on one release
  local core=$1 py=$2 V c
  V=$(core_venv "$core" "$py")
  [ -x "$V/bin/ansible-test" ] || return 0
  c=$(coll "checks-core$core")
  has_step units && run_ansible_test "units-core$core-py$py" "$V" "$c" units --python "$py" --local --requirements
  if has_step integration; then
    shared_emulator start "$V" "$c" "checks-core$core"
    run_ansible_test "integration-core$core-py$py" "$V" "$c" integration --python "$py" --local --continue-on-error
    shared_emulator stop "$V" "$c" "checks-core$core"
  fi
}

shared_emulator() {  # shared_emulator start|stop VENV COLL NAME: one emulator for every integration target of a run
  # (setup_emulator resets it to the seed for each target instead of starting and stopping one of its own:
  # two ansible tasks and an emulator start less per target). Same options as setup_emulator's own.
  local venv=$2 c=$3 dir="$WORK/tmp/emulator-$4" pid
  local info="$c/tests/integration/.shared-emulator.json"
  if [ "$1" = stop ]; then
    rm -f "$info"
    pid=$(cat "$dir/pid" 2>/dev/null) && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$dir"
    return 0
  fi
  rm -rf "$dir" && mkdir -p "$dir" || return 1
  local pass="It-Shared-$RANDOM$RANDOM"
  "$venv/bin/python" "$c/tests/emulator/em-emulator" --port 0 --ca-file "$dir/ca.pem" --ready-file "$dir/ready" \
    --username it-admin --password "$pass" --task-running-seconds 0.2 --session-seconds 1 --max-lifetime 3600 \
    >"$WORK/logs/emulator-$4.log" 2>&1 </dev/null &
  echo $! >"$dir/pid"
  for _ in $(seq 300); do [ -s "$dir/ready" ] && break; sleep 0.1; done
  if [ ! -s "$dir/ready" ]; then  # the targets then start their own
    log "   shared emulator for $4 did not start (see $WORK/logs/emulator-$4.log)"; shared_emulator stop "$2" "$3" "$4"; return 0
  fi
  "$PYBIN/python3.11" -c 'import json, sys; json.dump(dict(url=sys.argv[1], ca=sys.argv[2], username="it-admin",
    password=sys.argv[3]), open(sys.argv[4], "w"))' "$(cat "$dir/ready")" "$dir/ca.pem" "$pass" "$info"
}

lane_emulator() {  # the emulator's own tests (on the first release's venv)
  local entry=${MATRIX%% *} V c
  V=$(core_venv "${entry%%:*}" "${entry##*:}")
  [ -x "$V/bin/python" ] || return 0
  c=$(coll emulator)
  run_pytest "emulator-py${entry##*:}" "$V" "$c" -n 2 tests/emulator/tests
}

lane_e2e() {  # lane_e2e CORE PY [PART]: the end-to-end tests on one release (PART jobs|others: half the whole suite)
  local core=$1 py=$2 part=${3:-} V c verbose select modes name f g
  V=$(core_venv "$core" "$py")
  [ -x "$V/bin/python" ] || return 0
  c=$(coll "e2e-core$core${part:+-$part}")
  if [ -n "$part" ]; then
    name="e2e-core$core-py$py-$part"
    verbose="$WORK/e2e-verbose-core$core-py$py-$part"
    select=()  # the job part's files, or all but them
    [ "$part" = jobs ] || select=(tests/e2e)
    for f in "${E2E_JOB_PART[@]}"; do
      for g in "$c"/$f; do
        if [ "$part" = jobs ]; then select+=("${g#"$c"/}"); else select+=("--ignore=${g#"$c"/}"); fi
      done
    done
    # the quick loop: one reading, no minutes-long tests, one more worker (fewer lanes compete for the CPU)
    modes=$ALL_MODES select=(-n 3 "${select[@]}")
    [ -n "$QUICK" ] && modes=$ONE_MODE select=(-m "not slow" "${select[@]}")
    E2E_MODES="$modes" E2E_VERBOSE_DIR="$verbose" run_pytest "$name" "$V" "$c" "${select[@]}"
    # every byte that -vvv run left behind: no password, no base64(user:pass), no session; then it goes
    E2E_VERBOSE_DIR="$verbose" run_pytest "secrets-sweep-core$core-py$py-$part" "$V" "$c" tests/e2e/sweep_secrets.py
    rm -rf "$verbose"
  else
    # shellcheck disable=SC2086
    E2E_MODES="$ONE_MODE" run_pytest "e2e-core$core-py$py" "$V" "$c" -n 3 -m "not slow" $E2E_PER_RELEASE
  fi
}

lane_benchmark() {  # the benchmark itself is slow; a small run proves it still works
  local entry=$FULL_ENTRY V c
  V=$(core_venv "${entry%%:*}" "${entry##*:}")
  [ -x "$V/bin/python" ] || return 0
  c=$(coll benchmark)
  step "benchmark-smoke" "$c" env PATH="$V/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="${c%/ansible_collections/*}" \
    "$V/bin/python" benchmarks/bulk.py --jobs 12 --latency-ms 5 --task-seconds 0.2 --changed 3 --rss-jobs 50 --check
  step "benchmark-fleet-smoke" "$c" env PATH="$V/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="${c%/ansible_collections/*}" \
    "$V/bin/python" benchmarks/fleet.py --repeat 1 --latency-ms 5 --task-seconds 0.2
}

lane() {  # lane NAME FUNC ARGS...: a lane, timed as a whole
  local name=$1 t0=$SECONDS; shift
  "$@"
  timed "lane $name (wall)" 0 $((SECONDS - t0))
}

# Longest first, so that the lanes end together: the whole e2e suite, sanity (releases that share a
# Python in one lane, since ansible-test keeps its sanity venvs per Python), then the rest.
if has_step e2e; then
  for part in jobs others; do pool lane "e2e $FULL_ENTRY $part" lane_e2e "${FULL_ENTRY%%:*}" "${FULL_ENTRY##*:}" "$part"; done
fi
if has_step sanity; then
  for py in $(for entry in $MATRIX; do echo "${entry##*:}"; done | sort -u); do
    pool lane "sanity py$py" lane_sanity $(for entry in $MATRIX; do [ "${entry##*:}" = "$py" ] && echo "$entry"; done)
  done
fi
for entry in $MATRIX; do
  { has_step units || has_step integration; } && pool lane "checks $entry" lane_checks "${entry%%:*}" "${entry##*:}"
  [ "$entry" != "$FULL_ENTRY" ] && has_step e2e && pool lane "e2e $entry" lane_e2e "${entry%%:*}" "${entry##*:}"
done
has_step lxml && pool lane lxml lane_lxml
has_step release && pool lane release lane_release
has_step e2e && pool lane benchmark lane_benchmark
has_step emulator && pool lane emulator lane_emulator
has_step units && [ -z "$QUICK" ] && pool lane old-pythons lane_old_pythons
wait

# 5. What each step cost, then the summary (its last line is the one CI reads).
{
  echo
  printf '%-44s %8s  %s\n' "step" "seconds" "result"
  while IFS=$'\t' read -r name secs result; do printf '%-44s %8s  %s\n' "$name" "$secs" "$result"; done <"$TIMES"
  printf '%-44s %8s\n' "total (wall)" "$((SECONDS - T_START))"
  echo
} >&2
mapfile -t ERRORS <"$ERRFILE"
rm -rf "$WORK/lanes" "$WORK/collection.tar" "$WORK/tmp"
"$PYBIN/python3.11" "$REPO/tests/junit_summary.py" "$JUNIT" "${ERRORS[@]}"
