# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check #24's sweep: no secret in any byte a verbose end-to-end run left behind.

Run it on its own, after the suite ran with E2E_VERBOSE_DIR (every playbook at
-vvv with ANSIBLE_LOG_PATH; see conftest.py):

    E2E_VERBOSE_DIR=/tmp/v python -m pytest tests/e2e
    E2E_VERBOSE_DIR=/tmp/v python -m pytest tests/e2e/sweep_secrets.py

The secrets are every password the runs used, base64(user:password) of each,
and the token and id of every logon session the emulator issued; each is
looked for as is, JSON-escaped, URL-encoded and (ids) upper-case. Its name does
not start with ``test_``, so the suite itself does not collect it.
"""

from __future__ import (absolute_import, division, print_function)

import base64
import json
import os
from urllib.parse import quote

import pytest

from conftest import USER

CANARY = 'pw-CANARY'  # every password of the suite starts with it


def load_secrets(directory):
    """{secret: kind} from <directory>/secrets.jsonl."""
    found = {CANARY: 'canary password prefix'}
    path = os.path.join(directory, 'secrets.jsonl')
    if not os.path.exists(path):
        return found
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            if record.get('password'):
                found[record['password']] = 'password'
                found[base64.b64encode(('%s:%s' % (USER, record['password'])).encode()).decode()] = 'base64(user:password)'
            if record.get('token'):
                found[record['token']] = 'session token'
            if record.get('session_id'):
                found[record['session_id']] = 'session id'
    return found


def forms(secret):
    """The byte strings a secret may take in output: as is, JSON-escaped, URL-encoded, upper-case."""
    out = set([secret, json.dumps(secret)[1:-1], secret.replace('/', '\\/'), quote(secret, safe=''), secret.upper()])
    return [f.encode() for f in out if f]


def output_files(directory):
    for top, _dirs, files in os.walk(os.path.join(directory, 'output')):
        for name in sorted(files):
            yield os.path.join(top, name)


def sweep(directory, secrets=None):
    """[(file, kind of secret, offset)] for every secret found in any file under <directory>/output/."""
    secrets = load_secrets(directory) if secrets is None else secrets
    patterns = [(form, kind) for secret, kind in secrets.items() for form in forms(secret)]
    hits = []
    for path in output_files(directory):
        with open(path, 'rb') as f:
            data = f.read()
        for form, kind in patterns:
            at = data.find(form)
            if at >= 0:
                hits.append((os.path.relpath(path, directory), kind, at))
    return sorted(set(hits))


def test_no_secret_in_verbose_e2e_output():
    """#24: zero hits over every playbook output and ANSIBLE_LOG_PATH file of the verbose suite."""
    directory = os.environ.get('E2E_VERBOSE_DIR')
    if not directory:
        pytest.skip('E2E_VERBOSE_DIR is not set: run the e2e suite with it first')
    secrets = load_secrets(directory)
    kinds = sorted(set(secrets.values()))
    assert 'session token' in kinds and 'password' in kinds, 'no session or password was recorded: %s' % kinds
    files = list(output_files(directory))
    assert any(os.path.basename(p).startswith('ansible-') for p in files), 'no ANSIBLE_LOG_PATH file was written'
    assert len(files) > 10, 'the verbose suite left only %d files' % len(files)
    assert sweep(directory, secrets) == []  # (file, kind, offset): never the secret itself


def test_the_sweep_finds_planted_secrets(tmp_path):
    """The sweep itself: each kind of secret, in each form, planted in one file, is found there and only there."""
    password, token, sid = 'pw-CANARY-planted-51e0', 'aGVsbG8+d29ybGQ/Zm9vYmFy+/==', '6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b'
    with open(str(tmp_path / 'secrets.jsonl'), 'w') as f:
        for record in ({'password': password}, {'token': token, 'session_id': sid}):
            f.write(json.dumps(record) + '\n')
    out = tmp_path / 'output'
    out.mkdir()
    basic = base64.b64encode(('%s:%s' % (USER, password)).encode()).decode()
    planted = {
        'clean.out': b'ok: [localhost] => {"changed": false, "password": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}\n' * 50,
        'password.out': b'x' * 5000 + b'"msg": "logon failed for ' + password.encode() + b'"',
        'basic.log': b'Authorization: Basic ' + basic.encode(),
        'token.json': json.dumps({'headers': {'X-RestSvcSessionId': token}}).encode().replace(b'/', b'\\/'),
        'token-url.out': b'GET /api/x?sid=' + quote(token, safe='').encode(),
        'sid.bin': b'\x00\xff' * 100 + sid.upper().encode() + b'\x00',
    }
    for name, data in planted.items():
        (out / name).write_bytes(data)
    hits = sweep(str(tmp_path))
    by_file = dict((os.path.basename(path), kind) for path, kind, _at in hits)
    assert 'clean.out' not in by_file
    assert by_file['password.out'] in ('password', 'canary password prefix')
    assert by_file['basic.log'] == 'base64(user:password)'
    assert by_file['token.json'] == by_file['token-url.out'] == 'session token'
    assert by_file['sid.bin'] == 'session id'
    assert set(by_file) == set(planted) - set(['clean.out'])
    # the offset points at the secret
    at = [a for path, kind, a in hits if path.endswith('password.out') and kind == 'password'][0]
    assert planted['password.out'][at:at + len(password)] == password.encode()
