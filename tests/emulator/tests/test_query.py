"""Query service: filter grammar, sorting, formats and paging links."""

from urllib.parse import quote

from conftest import ADVERTISED, NS, N, xml


def q(em, token, query):
    r = em.req("GET", "/api/query?" + query, token)
    assert r.status_code == 200, r.text
    return xml(r)


def names(res):
    refs = res.find("e:Refs", N)
    if refs is not None:
        return sorted(x.get("Name") for x in refs)
    return sorted(x.get("Name") for x in res.find("e:Entities", N)[0])


def f(expr):
    return "filter=" + quote(expr, safe="")


def test_type_required_and_unknown(em, token):
    assert em.req("GET", "/api/query", token).status_code == 400
    assert em.req("GET", "/api/query?type=Nope", token).status_code == 400
    assert em.req("GET", "/api/query?type=Job&" + f("Bogus==1"), token).status_code == 400
    assert em.req("GET", "/api/query?type=Job&" + f("Name=="), token).status_code == 200


def test_equality_quotes_and_case(em, token):
    assert names(q(em, token, "type=Job&" + f('Name=="Exchange Backup"'))) == ["Exchange Backup"]
    assert names(q(em, token, "type=job&" + f('name=="exchange backup"'))) == ["Exchange Backup"]
    assert names(q(em, token, "TYPE=JOB&" + f("jobtype==replica"))) == ["DC Replication"]
    # unquoted spaces are dropped, so this matches nothing
    assert names(q(em, token, "type=Job&" + f("Name==Exchange Backup"))) == []
    # + is a space, raw (unencoded) quotes and == survive
    assert names(q(em, token, 'type=Job&filter=Name=="SQL+Backup"')) == ["SQL Backup"]


def test_doubled_quote_escaping(em, token):
    jid = em.job_id("HV Backup")
    raw = em.ctl("GET", "jobs/%s/xml" % jid).text.replace('Name="HV Backup"', 'Name="HV &quot;Gold&quot; Backup"')
    assert em.ctl("PUT", "jobs/%s/xml" % jid, data=raw.encode()).status_code == 200
    assert names(q(em, token, "type=Job&" + f('Name=="HV ""Gold"" Backup"'))) == ['HV "Gold" Backup']


def test_and_or_grouping_and_compare(em, token):
    assert names(q(em, token, "type=Job&" + f("JobType==Backup;Platform==HyperV"))) == ["HV Backup"]
    got = names(q(em, token, "type=Job&" + f('Name=="HV Backup",Name=="DC Replication"')))
    assert got == ["DC Replication", "HV Backup"]
    got = names(q(em, token, "type=Job&" + f('(JobType==Replica,Platform==HyperV);BackupServerName==vbr01')))
    assert got == ["DC Replication", "HV Backup"]
    got = names(q(em, token, "type=Job&" + f('Name=="File Server Backup";BackupServerName!=vbr01')))
    assert got == ["File Server Backup"]
    # enums compare by declared index: Backup < Replica < BackupCopy < ImmediateBackupCopy
    got = names(q(em, token, "type=Job&" + f("JobType>=BackupCopy")))
    assert got == ["Immediate Copy", "Periodic Copy"]
    got = names(q(em, token, "type=Job&" + f("ScheduleEnabled==false")))
    assert got == ["File Server Backup"]


def test_entities_format_and_sort(em, token):
    res = q(em, token, "type=Job&format=Entities&sortAsc=name&" + f("BackupServerName==vbr01"))
    jobs = res.find("e:Entities/e:Jobs", N)
    got = [j.get("Name") for j in jobs]
    assert got == sorted(got) and len(got) == 8
    assert res.find("e:PagingInfo", N).attrib == {"PageNum": "1", "PageSize": "8", "PagesCount": "1"}
    assert res.find("e:PagingInfo/e:Links", N) is None
    res = q(em, token, "type=Job&format=entities&sortDesc=Name")
    got = [j.get("Name") for j in res.find("e:Entities/e:Jobs", N)]
    assert got == sorted(got, reverse=True)


def test_paging_links(em, token):
    query = "type=Job&sortAsc=Name&pageSize=4&page=2"
    res = q(em, token, query)
    pi = res.find("e:PagingInfo", N)
    assert pi.attrib == {"PageNum": "2", "PageSize": "4", "PagesCount": "3"}
    links = {ln.get("Rel"): ln.get("Href") for ln in pi.findall("e:Links/e:Link", N)}
    assert list(links) == ["First", "Previous", "Next", "Last"]
    base = ADVERTISED + "/api/query?type=Job&sortAsc=Name&pageSize=4&page="
    assert links == {"First": base + "1", "Previous": base + "1", "Next": base + "3", "Last": base + "3"}
    # the raw XML carries &amp;
    raw = em.req("GET", "/api/query?" + query, token).text
    assert "type=Job&amp;sortAsc=Name&amp;pageSize=4&amp;page=3" in raw
    # walk Next links
    seen, href = [], em.url + "/api/query?type=Job&sortAsc=Name&pageSize=4"
    while href:
        res = xml(em.req("GET", href, token))
        seen += [x.get("Name") for x in res.find("e:Refs", N)]
        nxt = res.find("e:PagingInfo/e:Links/e:Link[@Rel='Next']", N)
        href = em.url + nxt.get("Href")[len(ADVERTISED):] if nxt is not None else None
    assert len(seen) == 9 and seen == sorted(seen)
    res = q(em, token, "type=Job&pageSize=4&page=9")
    assert len(res.find("e:Refs", N)) == 0


def test_other_types(em, token):
    res = q(em, token, "type=BackupServer&format=Entities&" + f("Name==VBR02"))
    assert [x.get("Name") for x in res.find("e:Entities/e:BackupServers", N)] == ["vbr02"]
    res = q(em, token, "type=Repository&" + f('Name=="Backup Volume 01";BackupServerName=="vbr01"'))
    assert names(res) == ["Backup Volume 01"]
    res = q(em, token, "type=repository&format=Entities&" + f("Capacity>1000000000000"))
    assert len(res.find("e:Entities/e:Repositories", N)) == 2
    assert em.req("GET", "/api/query?type=HierarchyRoot", token).status_code == 200
    r = em.req("GET", "/api/querySvc", token)
    assert xml(r).tag == "{%s}QuerySvc" % NS


def _tree(el):
    return (el.tag, sorted(el.attrib.items()), (el.text or "").strip(), [_tree(c) for c in el])


def test_a_page_of_job_entities_is_each_job_as_read_alone(em, token):
    """The page is written from each job's cached serialised entity: the same element, in the one namespace."""
    r = em.req("GET", "/api/query?type=Job&format=Entities&pageSize=3&page=2&sortAsc=name", token)
    assert r.status_code == 200, r.text
    assert r.content.count(b'xmlns="%s"' % NS.encode()) == 1  # declared once, on QueryResult
    jobs = xml(r).find("e:Entities/e:Jobs", N)
    assert len(jobs) == 3
    for job in jobs:
        alone = em.req("GET", "/api/jobs/%s?format=Entity" % job.get("UID").rsplit(":", 1)[1], token)
        assert _tree(job) == _tree(xml(alone))
        assert all(el.tag.startswith("{%s}" % NS) for el in job.iter())
