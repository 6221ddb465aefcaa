"""Command line: plain HTTP mode, python -m, --help, advertised URL, SIGTERM."""

import os
import signal
import subprocess
import sys

import requests

from conftest import EMU_DIR, LAUNCHER, start_emulator


def test_no_tls_and_sigterm(tmp_path):
    proc, url, ca_file = start_emulator(tmp_path, tls=False)
    try:
        assert url.startswith("http://127.0.0.1:")
        r = requests.get(url + "/api/", timeout=5)
        assert r.status_code == 200 and url + "/api/sessionMngr/?v=v1_7" in r.text
        assert requests.get(url + "/_emulator/health", timeout=5).json()["status"] == "ok"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    assert "em-emulator listening on " + url in proc.stdout.read()


def test_python_m_and_help(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(EMU_DIR))
    out = subprocess.run([sys.executable, "-m", "veeam_em_emulator", "--help"], env=env, capture_output=True,
                         text=True, timeout=20, check=False)
    assert out.returncode == 0
    for opt in ("--port", "--no-tls", "--advertised-url", "--order-violation", "--merge", "--absent-bool",
                "--task-running-seconds", "--restore-user", "--max-lifetime"):
        assert opt in out.stdout
    out = subprocess.run([sys.executable, str(LAUNCHER), "--help"], capture_output=True, text=True, timeout=20,
                         check=False)
    assert out.returncode == 0 and "usage: em-emulator" in out.stdout
    assert os.access(LAUNCHER, os.X_OK)
    assert LAUNCHER.read_text().startswith("#!/usr/bin/env python\n")


def test_max_lifetime_exits_zero(tmp_path):
    proc, url, ca_file = start_emulator(tmp_path, "--max-lifetime", "1", tls=False)
    assert proc.wait(10) == 0


def test_tls_cert_needs_the_ca(emu):
    import pytest
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(emu.url + "/api/", timeout=5, verify=True)
    assert requests.get(emu.url.replace("127.0.0.1", "localhost") + "/api/", timeout=5,
                        verify=emu.ca).status_code == 200
