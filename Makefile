# The two commands of the README, and a few narrower ones for development.
.PHONY: demo test test-quick units integration e2e emulator docs-check

demo:            ## start the emulator, run examples/demo.yml twice (a change, then an idempotent re-run), stop
	examples/demo.sh

test:            ## every test, on every supported ansible-core release (what CI runs; budget 25 minutes)
	tests/run.sh

test-quick:      ## the loop while working: one release (2.19), every suite, slow fault tests left out (about 8 minutes)
	TEST_QUICK=1 tests/run.sh

units:
	TEST_STEPS=units TEST_MATRIX=2.19:3.11 tests/run.sh

integration:     ## ansible-test integration targets (tests/integration/targets), one emulator shared by the targets
	TEST_STEPS=integration TEST_MATRIX=2.19:3.11 tests/run.sh

e2e:
	TEST_STEPS=e2e TEST_MATRIX=2.19:3.11 tests/run.sh

emulator:        ## run the emulator in the foreground (HTTPS on 127.0.0.1:9398)
	python3 tests/emulator/em-emulator

# render_docs.py imports ansible-core: the 2.19 test venv's Python when make test has built it, else python3
DOCS_PYTHON ?= $(firstword $(wildcard $(or $(VEEAM_EM_TEST_WORK),/tmp/veeam_em-tests)/venvs/core2.19-py3.11/bin/python) python3)

docs-check:      ## the generated parts of the module docs match the declarations (DOCS_PYTHON=... to choose the Python)
	$(DOCS_PYTHON) hacking/render_docs.py --check
