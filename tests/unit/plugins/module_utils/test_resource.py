# -*- coding: utf-8 -*-
# Copyright (c) 2026, veeam_em.core contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The resource engine and the backup-server declarations, against an in-memory EM that answers as the vendor pages.

The fake keeps records as the vendor's XML shows them (CredentialsInfoList, PasswordKeyInfoList, BackupServer
query entities), checks the root element and the child order of every body it is sent, and answers a create with
201 and no body (or a task), an edit and a delete with 204.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import uuid

import pytest

from ansible_collections.veeam_em.core.plugins.module_utils import _resource, _xml
from ansible_collections.veeam_em.core.plugins.module_utils._errors import (
    AmbiguousWriteError, ApiError, ValidationError, VeeamEmError,
)
from ansible_collections.veeam_em.core.plugins.module_utils._resource_models import (
    BACKUP_SERVER, CREDENTIAL, ENCRYPTION_PASSWORD, backup_servers,
)

NS = 'http://www.veeam.com/ent/v1.0'
VBR01 = 'f62624c1-8462-4747-8bd4-d686f99b0540'
VBR02 = 'fd8fab6c-fca1-4e5c-b485-6d92eb7717bd'
SECRET = 'S3cret-Never-Shown'
ORDER = {
    'CredentialsInfoSpec': ('Username', 'Description', 'Password'),
    'CredentialsInfo': ('Id', 'Username', 'Description', 'Password'),
    'PasswordKeyInfoSpec': ('Hint', 'Password'),
    'BackupServerSpec': ('Description', 'DnsNameOrIpAddress', 'Port', 'Username', 'Password', 'WcfPort',
                         'VbrCertificateThumbprint'),
}


def names(el):
    return [_xml.localname(c.tag) for c in el]


class FakeEm:
    """Two backup servers, their credentials and passwords; every request recorded."""

    def __init__(self, create_answer='201', delete_status=None):
        self.servers = {VBR01: {'name': 'vbr01', 'address': 'vbr01.example.com', 'Description': 'Main', 'Port': '9392'},
                        VBR02: {'name': 'vbr02', 'address': '10.0.0.2', 'Description': '', 'Port': '9392'}}
        self.creds = {VBR01: [], VBR02: []}
        self.keys = {VBR01: [], VBR02: []}
        self.secrets = {}
        self.requests = []
        self.create_answer = create_answer
        self.delete_status = delete_status
        self.clock = 0

    # -- fixtures -----------------------------------------------------------------

    def add_cred(self, server, username, description='', password=None):
        rid = str(uuid.uuid4())
        self.creds[server].append({'Id': rid, 'Username': username, 'Description': description})
        self.secrets[rid] = password
        return rid

    def add_key(self, server, hint, password='k'):
        rid = str(uuid.uuid4())
        self.clock += 1
        self.keys[server].append({'Id': rid, 'Hint': hint, 'LastModificationDate': '2026-01-01T00:00:%02dZ' % self.clock})
        self.secrets[rid] = password
        return rid

    @property
    def writes(self):
        return [r for r in self.requests if r[0] != 'GET']

    # -- the client interface -----------------------------------------------------------

    def _split(self, path):
        parts = path.split('?')[0].strip('/').split('/')
        return parts

    def query(self, qtype, filter=None, fmt='Entities', page_size=None):  # pylint: disable=redefined-builtin
        assert qtype == 'BackupServer'
        self.requests.append(('GET', 'query', filter, None))
        out = []
        for sid, s in self.servers.items():
            if filter:
                field, value = filter.split('==', 1)
                value = json.loads(value) if value.startswith('"') else value
                have = s['address'] if field == 'IpOrDnsName' else s['name']
                if have.lower() != value.lower():
                    continue
            el = _xml.element('BackupServer', attrib={'Href': 'backupServers/%s' % sid, 'Type': 'BackupServer',
                                                      'Name': s['name'], 'UID': 'urn:veeam:BackupServer:%s' % sid})
            _xml.sub(el, 'Description', s['Description'])
            _xml.sub(el, 'Port', s['Port'])
            _xml.sub(el, 'Version', '13.0.1.1071')
            out.append(el)
        return out

    def get(self, path, params=None):
        self.requests.append(('GET', path, params, None))
        parts = self._split(path)
        if parts[0] == 'backupServers' and len(parts) == 2:
            return self.query('BackupServer', 'Name==%s' % self.servers[parts[1]]['name'])[0]
        server, kind = parts[1], parts[2]
        table, root, item = (self.creds, 'CredentialsInfoList', 'CredentialsInfo') if kind == 'credentials' else \
            (self.keys, 'PasswordKeyInfoList', 'PasswordKeyInfo')
        rows = table[server] if len(parts) == 3 else [r for r in table[server] if r['Id'] == parts[3]]
        if len(parts) == 4 and not rows:
            raise ApiError('not found', status=404)
        lst = _xml.element(root)
        for row in rows:
            el = _xml.sub(lst, item, attrib={'Href': 'https://em/api/%s/%s' % ('/'.join(parts[:3]), row['Id']),
                                             'Type': 'Credentials' if item == 'CredentialsInfo' else 'PasswordKey'})
            for name, value in row.items():
                _xml.sub(el, name, value)
        return lst if len(parts) == 3 else lst[0]

    def _record(self, method, path, body, params):
        self.requests.append((method, path, params, _xml.to_bytes(body) if body is not None else None))
        if body is not None:
            root = _xml.localname(body.tag)
            assert body.tag == '{%s}%s' % (NS, root)
            order = ORDER[root]
            got = names(body)
            assert got == sorted(got, key=order.index), got

    def write(self, method, path, body_el=None, params=None):
        """The client's one write call (status, root element or None), for the shared write path."""
        if method == 'DELETE':
            return 204, self.delete(path)
        root = self.post(path, body_el, params) if method == 'POST' else self.put(path, body_el, params)
        return (202 if root is not None else (201 if method == 'POST' else 204)), root

    def post(self, path, body, params=None):
        self._record('POST', path, body, params)
        assert params == {'action': 'create'}
        parts = self._split(path)
        values = dict((_xml.localname(c.tag), c.text) for c in body)
        if parts == ['backupServers']:
            sid = str(uuid.uuid4())
            self.servers[sid] = {'name': values['DnsNameOrIpAddress'].split('.')[0], 'address': values['DnsNameOrIpAddress'],
                                 'Description': values['Description'], 'Port': values['Port']}
            self.secrets[sid] = (values['Username'], values['Password'])
        elif parts[2] == 'credentials':
            self.add_cred(parts[1], values.get('Username'), values.get('Description') or '', values.get('Password'))
        else:
            self.add_key(parts[1], values.get('Hint') or '', values['Password'])
        if self.create_answer == 'running':  # EM accepted it; the task is never polled here (get() knows no /tasks)
            return _xml.parse(('<Task xmlns="%s" Href="https://em/api/tasks/task-7" Type="Task"><TaskId>task-7</TaskId>'
                               '<State>Running</State><Operation>Create</Operation></Task>' % NS).encode())
        if self.create_answer == 'task':
            return _xml.parse(('<Task xmlns="%s" Href="https://em/api/tasks/task-1" Type="Task"><TaskId>task-1</TaskId>'
                               '<State>Finished</State><Operation>Create</Operation><Result Success="true"/></Task>'
                               % NS).encode())
        return None

    def put(self, path, body, params=None):
        self._record('PUT', path, body, params)
        parts = self._split(path)
        values = dict((_xml.localname(c.tag), c.text) for c in body)
        if parts[0] == 'backupServers' and len(parts) == 2:
            server = self.servers[parts[1]]
            assert values['DnsNameOrIpAddress'].lower() == server['address'].lower()
            for name in ('Description', 'Port'):
                if name in values:
                    server[name] = values[name]
            if 'Password' in values:
                self.secrets[parts[1]] = (values['Username'], values['Password'])
            return None
        table = self.creds if parts[2] == 'credentials' else self.keys
        row = [r for r in table[parts[1]] if r['Id'] == parts[3]][0]
        for name, value in values.items():
            if name == 'Password':
                assert table is self.creds, 'a password key edit carried a Password'
                self.secrets[row['Id']] = value
            elif name != 'Id':
                row[name] = value or ''
        return None

    def delete(self, path):
        self._record('DELETE', path, None, None)
        if self.delete_status:
            raise ApiError('EM refused DELETE %s: HTTP %d: in use' % (path, self.delete_status),
                           status=self.delete_status, message='The credentials are in use by job SQL Backup')
        parts = self._split(path)
        if len(parts) == 2:
            del self.servers[parts[1]]
            return None
        table = self.creds if parts[2] == 'credentials' else self.keys
        table[parts[1]] = [r for r in table[parts[1]] if r['Id'] != parts[3]]
        return None


def params(res, **kw):
    out = dict((name, spec.get('default')) for name, spec in res.argument_spec().items())
    out.update(kw)
    return out


def go(em, res, check_mode=False, wait=True, **kw):
    p = params(res, **kw)
    wanted = res.check_input(p)
    return _resource.run(em, res, p, wanted, check_mode=check_mode, with_diff=True, wait_timeout=3,
                         sleep=lambda s: None, clock=iter(range(1000)).__next__, wait=wait)


def assert_secret_absent(result):
    assert SECRET not in json.dumps(result)


# ---------------------------------------------------------------------------
# Declarations: options, docs, bodies


def test_argument_specs_name_secrets_for_their_owner_and_hide_them():
    for res, secrets in ((CREDENTIAL, ['credential_password']), (ENCRYPTION_PASSWORD, ['key_password']),
                         (BACKUP_SERVER, ['server_password'])):
        spec = res.argument_spec()
        assert 'password' not in spec and 'port' not in spec
        assert sorted(n for n, s in spec.items() if s.get('no_log')) == secrets
    assert BACKUP_SERVER.module_kwargs() == {'required_together': [['server_username', 'server_password']]}
    assert CREDENTIAL.module_kwargs() == {'required_one_of': [['credential_username', 'id']]}


def test_returned_keys_are_the_documented_ones():
    em = FakeEm()
    em.add_cred(VBR01, 'CORP\\svc', 'd')
    em.add_key(VBR01, 'h')
    for res, kw in ((CREDENTIAL, {'credential_username': 'CORP\\svc'}), (ENCRYPTION_PASSWORD, {'hint': 'h'}),
                    (BACKUP_SERVER, {'name': 'vbr01.example.com'})):
        if res.parent is not None:
            kw['backup_server'] = 'vbr01'
        result = go(em, res, **kw)
        documented = res.return_docs()[res.result_key]['contains']
        assert list(result[res.result_key]) == list(documented), res
        assert None not in result[res.result_key].values()


def test_create_body_follows_the_spec_order_and_defaults():
    body = BACKUP_SERVER.body('BackupServerSpec', {'name': 'vbr03', 'server_username': 'u', 'server_password': 'p',
                                                   'description': '', 'server_port': 9392},
                              ['server_password', 'server_port', 'name', 'server_username', 'description'])
    assert names(body) == ['Description', 'DnsNameOrIpAddress', 'Port', 'Username', 'Password']
    assert body.tag == '{%s}BackupServerSpec' % NS


def test_offline_checks_name_the_option():
    for res, kw, option in ((CREDENTIAL, {'credential_username': 'u' * 256}, 'credential_username'),
                            (CREDENTIAL, {'credential_username': 'u', 'credential_password': ''}, 'credential_password'),
                            (ENCRYPTION_PASSWORD, {'hint': 'h', 'key_password': ''}, 'key_password'),
                            (CREDENTIAL, {'id': 'not-an-id'}, 'id'),
                            (CREDENTIAL, {'credential_username': 'u', 'credential_password': 'x', 'state': 'absent'}, 'state'),
                            (BACKUP_SERVER, {'name': 'x', 'server_port': 70000}, 'server_port')):
        with pytest.raises(ValidationError) as err:
            res.check_input(params(res, **kw))
        assert err.value.option == option and str(err.value).startswith(option)
    assert CREDENTIAL.check_input(params(CREDENTIAL, credential_username='u' * 255)) == {'credential_username': 'u' * 255}


# ---------------------------------------------------------------------------
# Credentials


def test_create_lists_again_to_find_the_new_record():
    em = FakeEm()
    em.add_cred(VBR01, 'CORP\\other')
    result = go(em, CREDENTIAL, backup_server='VBR01', credential_username='CORP\\svc', description='d',
                credential_password=SECRET)
    assert result['changed'] and result['secrets_sent'] == ['credential_password']
    new = [r for r in em.creds[VBR01] if r['Username'] == 'CORP\\svc'][0]
    assert result['credential'] == {'id': new['Id'], 'backup_server': 'vbr01', 'credential_username': 'CORP\\svc',
                                    'description': 'd'}
    assert em.secrets[new['Id']] == SECRET
    assert [(m, p) for m, p, _q, _b in em.writes] == [('POST', 'backupServers/%s/credentials' % VBR01)]
    assert result['diff'] == {'before': {}, 'after': dict(result['credential'], id=None)}
    assert_secret_absent(result)
    again = go(em, CREDENTIAL, backup_server='vbr01', credential_username='corp\\SVC', description='d',
               credential_password=SECRET)
    assert not again['changed'] and len(em.writes) == 1


def test_create_answered_by_a_task_is_followed():
    em = FakeEm(create_answer='task')
    result = go(em, ENCRYPTION_PASSWORD, backup_server='vbr01', hint='Offsite', key_password=SECRET)
    assert result['changed'] and result['task']['state'] == 'Finished'
    assert result['encryption_password']['hint'] == 'Offsite' and result['encryption_password']['id']


def test_wait_false_returns_the_accepted_task_without_following_it():
    em = FakeEm(create_answer='running')
    result = go(em, ENCRYPTION_PASSWORD, wait=False, backup_server='vbr01', hint='Offsite', key_password=SECRET)
    assert result['changed'] and result['task'] == {'id': 'task-7', 'state': 'Running', 'operation': 'Create',
                                                    'success': None, 'message': None}
    assert result['tasks'] == [result['task']]
    # the record as the change leads to it, not read back: nothing was requested after the POST
    assert result['encryption_password'] == {'id': None, 'backup_server': 'vbr01', 'hint': 'Offsite', 'last_modified': None}
    assert em.requests[-1][0] == 'POST'
    assert_secret_absent(result)


def test_wait_false_still_verifies_a_write_answered_at_once():
    em = FakeEm()
    rid = em.add_cred(VBR01, 'CORP\\svc', 'old')
    result = go(em, CREDENTIAL, wait=False, backup_server='vbr01', credential_username='CORP\\svc', description='new')
    assert result['changed'] and 'task' not in result
    assert result['credential']['id'] == rid and result['credential']['description'] == 'new'
    assert em.requests[-1][0] == 'GET'  # read again after the 204
    assert not go(em, CREDENTIAL, wait=False, backup_server='vbr01', credential_username='CORP\\svc',
                  description='new')['changed']


def test_wait_is_an_option_of_the_module_not_of_a_bulk_entry():
    spec = CREDENTIAL.argument_spec()
    assert spec['wait'] == {'type': 'bool', 'default': True}
    assert 'wait' not in dict((o[0], o) for o in CREDENTIAL.option_docs())


def test_check_mode_sends_no_write_and_predicts():
    em = FakeEm()
    rid = em.add_cred(VBR01, 'CORP\\svc', 'old')
    result = go(em, CREDENTIAL, check_mode=True, backup_server='vbr01', credential_username='CORP\\svc',
                description='new', credential_password=SECRET, update_password='always')
    assert result['changed'] and em.writes == []
    assert result['diff'] == {'before': {'description': 'old'}, 'after': {'description': 'new'}}
    assert result['credential']['id'] == rid and result['secrets_sent'] == ['credential_password']
    assert_secret_absent(result)


def test_edit_sends_identity_then_changed_leaves_only():
    em = FakeEm()
    rid = em.add_cred(VBR01, 'CORP\\svc', 'old', 'first')
    result = go(em, CREDENTIAL, backup_server='vbr01', credential_username='CORP\\svc', description='new',
                credential_password=SECRET)
    method, path, _p, body = em.writes[0]
    assert (method, path) == ('PUT', 'backupServers/%s/credentials/%s' % (VBR01, rid))
    sent = _xml.parse(body)
    assert names(sent) == ['Id', 'Description'] and sent.get('Type') == 'Credentials'
    assert em.secrets[rid] == 'first'  # on_create: the password is not sent to an existing record
    assert result['changed'] and 'secrets_sent' not in result


def test_update_password_always_sends_it_and_reports_a_change():
    em = FakeEm()
    rid = em.add_cred(VBR01, 'CORP\\svc', 'd', 'first')
    for _run in range(2):
        result = go(em, CREDENTIAL, backup_server='vbr01', credential_username='CORP\\svc', credential_password=SECRET,
                    update_password='always')
        assert result['changed'] and result['diff'] == {'before': {}, 'after': {}}
        assert_secret_absent(result)
    assert em.secrets[rid] == SECRET
    assert [names(_xml.parse(w[3])) for w in em.writes] == [['Id', 'Password']] * 2


def test_a_username_several_records_hold_is_matched_on_description():
    em = FakeEm()
    em.add_cred(VBR01, 'CORP\\svc', 'sql')
    exch = em.add_cred(VBR01, 'CORP\\svc', 'exchange')
    with pytest.raises(VeeamEmError) as err:
        go(em, CREDENTIAL, backup_server='vbr01', credential_username='CORP\\svc')
    assert 'ambiguous' in err.value.msg and exch in err.value.msg and 'description' in err.value.msg
    result = go(em, CREDENTIAL, backup_server='vbr01', credential_username='CORP\\svc', description='exchange')
    assert not result['changed'] and result['credential']['id'] == exch
    result = go(em, CREDENTIAL, backup_server='vbr01', id='urn:veeam:Credentials:' + exch, credential_username='CORP\\svc2')
    assert result['changed'] and [r['Username'] for r in em.creds[VBR01] if r['Id'] == exch] == ['CORP\\svc2']


def test_delete_refused_while_in_use_is_a_clear_failure():
    em = FakeEm(delete_status=500)
    rid = em.add_cred(VBR01, 'CORP\\svc', 'd')
    with pytest.raises(VeeamEmError) as err:
        go(em, CREDENTIAL, backup_server='vbr01', credential_username='CORP\\svc', state='absent')
    assert 'refused' in err.value.msg and 'in use by job SQL Backup' in err.value.msg and 'kept' in err.value.msg
    assert err.value.result['changed'] is False
    assert [r['Id'] for r in em.creds[VBR01]] == [rid]


def test_delete_then_absent_is_unchanged():
    em = FakeEm()
    em.add_cred(VBR01, 'CORP\\svc', 'd')
    result = go(em, CREDENTIAL, backup_server='vbr01', credential_username='CORP\\svc', state='absent')
    assert result['changed'] and em.creds[VBR01] == [] and result['credential'] == {}
    assert result['diff']['after'] == {} and result['diff']['before']['credential_username'] == 'CORP\\svc'
    assert not go(em, CREDENTIAL, backup_server='vbr01', credential_username='CORP\\svc', state='absent')['changed']


def test_unknown_backup_server_fails_before_any_write():
    em = FakeEm()
    with pytest.raises(ValidationError) as err:
        go(em, CREDENTIAL, backup_server='vbr1', credential_username='u', credential_password=SECRET)
    assert err.value.option == 'backup_server' and 'vbr01' in err.value.msg and em.writes == []


def test_missing_password_on_create_names_the_option():
    em = FakeEm()
    with pytest.raises(ValidationError) as err:
        go(em, ENCRYPTION_PASSWORD, backup_server='vbr01', hint='new')
    assert err.value.option == 'key_password' and em.writes == []


def test_edit_not_kept_by_em_fails():
    em = FakeEm()
    em.add_cred(VBR01, 'CORP\\svc', 'old')
    em.put = lambda path, body, params=None: em._record('PUT', path, body, params)  # accepted, not applied
    with pytest.raises(_resource.VerifyFailed) as err:
        go(em, CREDENTIAL, backup_server='vbr01', credential_username='CORP\\svc', description='new')
    assert "description (sent 'new', found 'old')" in err.value.msg and err.value.result['changed']


# ---------------------------------------------------------------------------
# Encryption passwords


def test_only_the_hint_is_edited_and_a_new_key_is_refused_before_any_write():
    em = FakeEm()
    rid = em.add_key(VBR01, 'Offsite', 'old-key')
    same = go(em, ENCRYPTION_PASSWORD, backup_server='vbr01', hint='Offsite', key_password=SECRET)
    assert not same['changed'] and em.writes == [] and em.secrets[rid] == 'old-key'
    with pytest.raises(ValidationError) as err:
        go(em, ENCRYPTION_PASSWORD, backup_server='vbr01', hint='Offsite', key_password=SECRET, update_password='always')
    assert err.value.option == 'key_password' and 'new record' in err.value.msg and em.writes == []
    assert SECRET not in err.value.msg
    result = go(em, ENCRYPTION_PASSWORD, backup_server='vbr01', id=rid, hint='Offsite 2026')
    assert result['changed'] and names(_xml.parse(em.writes[0][3])) == ['Hint']
    assert result['encryption_password']['hint'] == 'Offsite 2026'


def test_info_lists_every_server_with_a_pattern():
    em = FakeEm()
    em.add_key(VBR01, 'Offsite 2025')
    em.add_key(VBR02, 'offsite 2026')
    em.add_key(VBR02, 'Local')
    found = _resource.info(em, ENCRYPTION_PASSWORD, {'hint': 'offsite*'}, backup_servers(em))
    assert [(f['backup_server'], f['hint']) for f in found] == [('vbr01', 'Offsite 2025'), ('vbr02', 'offsite 2026')]
    assert sorted(found[0]) == ['backup_server', 'hint', 'id', 'last_modified']


# ---------------------------------------------------------------------------
# Backup servers


def test_backup_server_register_edit_and_remove():
    em = FakeEm()
    result = go(em, BACKUP_SERVER, name='vbr03.example.com', description='Branch', server_username='CORP\\svc',
                server_password=SECRET)
    assert result['changed'] and result['backup_server']['em_name'] == 'vbr03'
    assert result['backup_server']['server_port'] == 9392 and result['backup_server']['name'] == 'vbr03.example.com'
    assert sorted(result['secrets_sent']) == ['server_password', 'server_username']
    assert_secret_absent(result)
    sid = result['backup_server']['id']
    assert em.secrets[sid] == ('CORP\\svc', SECRET)
    again = go(em, BACKUP_SERVER, name='vbr03.example.com', description='Branch', server_username='CORP\\svc',
               server_password=SECRET)
    assert not again['changed']
    edit = go(em, BACKUP_SERVER, name='VBR03.example.com', server_port=9393)
    body = _xml.parse(em.writes[-1][3])
    assert names(body) == ['DnsNameOrIpAddress', 'Port'] and em.servers[sid]['Port'] == '9393'
    assert edit['diff'] == {'before': {'server_port': 9392}, 'after': {'server_port': 9393}}
    gone = go(em, BACKUP_SERVER, name='vbr03.example.com', state='absent')
    assert gone['changed'] and sid not in em.servers and em.writes[-1][:2] == ('DELETE', 'backupServers/%s' % sid)


def test_backup_server_found_by_its_em_name_when_the_address_differs():
    em = FakeEm()
    result = go(em, BACKUP_SERVER, check_mode=True, name='vbr02', description='Second')
    assert result['changed'] and result['backup_server']['id'] == VBR02 and em.writes == []


def test_registering_needs_the_account():
    em = FakeEm()
    with pytest.raises(ValidationError) as err:
        go(em, BACKUP_SERVER, name='vbr09.example.com')
    assert err.value.option == 'server_username' and 'server_password' in err.value.msg and em.writes == []


def test_a_write_refused_for_the_role_names_the_role_and_writes_once():
    em = FakeEm()
    em.add_cred(VBR01, 'CORP\\svc', 'old')

    def forbidden(path, body, params=None):
        em._record('PUT', path, body, params)
        raise ApiError('EM refused PUT %s: HTTP 403: forbidden' % path, status=403)
    em.put = forbidden
    with pytest.raises(ApiError) as err:
        go(em, CREDENTIAL, backup_server='vbr01', credential_username='CORP\\svc', description='new')
    assert 'Portal Administrator' in err.value.msg and 'credentials record' in err.value.msg
    assert err.value.result['changed'] is False and len(em.writes) == 1


def test_answers_are_classified_by_their_root_never_by_status():
    class Stub:
        def __init__(self, root):
            self.root = root

        def write(self, method, path, body_el=None, params=None):
            return 200, (_xml.parse(self.root.encode()) if self.root else None)

    entity = '<CredentialsInfo xmlns="%s" Type="Credentials"><Id>x</Id></CredentialsInfo>' % NS
    assert _resource.send(Stub(entity), 'PUT', 'p', None, 'CredentialsInfo').entity is not None
    other = _resource.send(Stub('<EntityRef xmlns="%s"/>' % NS), 'PUT', 'p', None, 'CredentialsInfo')
    assert other.entity is None and other.task is None and other.known
    unqualified = _resource.send(Stub('<CredentialsInfo><Id>x</Id></CredentialsInfo>'), 'PUT', 'p', None, 'CredentialsInfo')
    assert unqualified.entity is None
    with pytest.raises(ApiError) as err:
        _resource.send(Stub('<Error xmlns="%s" Message="Username is too long"/>' % NS), 'PUT', 'p', None, 'CredentialsInfo')
    assert 'Username is too long' in err.value.msg


def test_a_create_whose_answer_was_lost_is_found_not_resent():
    em = FakeEm()
    real_post = em.post

    def lost(path, body, params=None):
        real_post(path, body, params)
        raise AmbiguousWriteError('POST %s: no usable answer' % path, method='POST', path=path)
    em.post = lost
    result = go(em, CREDENTIAL, backup_server='vbr01', credential_username='CORP\\svc', credential_password=SECRET)
    assert result['changed'] and result['credential']['id'] and len(em.writes) == 1


def test_the_newest_of_two_new_records_with_one_hint_is_taken():
    em = FakeEm()
    real_post = em.post

    def twice(path, body, params=None):  # someone else created the same hint meanwhile
        real_post(path, body, params)
        return real_post(path, body, params)
    em.post = twice
    result = go(em, ENCRYPTION_PASSWORD, backup_server='vbr01', hint='Offsite', key_password=SECRET)
    assert result['encryption_password']['id'] == em.keys[VBR01][-1]['Id']


def test_a_first_child_write_goes_before_the_record_and_its_check_can_stop_the_run(monkeypatch):
    """ChildWrite(first=True): sent before the record's own PUT; its check runs at once and may end the run with
    nothing else sent and the result saying whether anything changed."""
    em = FakeEm()
    em.add_cred(VBR01, 'CORP\\svc', 'old')
    field = CREDENTIAL.by_option['description']
    seen = []

    def writes(stop):
        def child_writes(item, current, wanted, params, context):
            def check(client):
                seen.append([w[0] for w in em.writes])
                if stop:
                    err = VeeamEmError('stopped: nothing changed')
                    err.written = False
                    raise err
            body = _xml.element('CredentialsInfo')
            _xml.sub(body, 'Description', current)
            return True, [_resource.ChildWrite('PUT', item, body, label='first', first=True, check=check)]
        return child_writes
    monkeypatch.setattr(field, 'child_writes', writes(True), raising=False)
    with pytest.raises(VeeamEmError) as err:
        go(em, CREDENTIAL, backup_server='vbr01', credential_username='CORP\\svc', description='new')
    assert seen == [['PUT']] and [w[0] for w in em.writes] == ['PUT'] and err.value.result['changed'] is False
    monkeypatch.setattr(field, 'child_writes', writes(False), raising=False)
    got = go(em, CREDENTIAL, backup_server='vbr01', credential_username='CORP\\svc', description='new')
    assert seen[-1] == ['PUT', 'PUT'] and [w[0] for w in em.writes] == ['PUT', 'PUT', 'PUT'] and got['changed']
