"""--tenants N: generated Cloud Connect tenants for benchmarks, served like the seeded ones."""

from conftest import N, Emu, start_emulator, xml


def test_generated_tenants_option(tmp_path):
    proc, url, ca = start_emulator(tmp_path, "--tenants", "3")
    try:
        e = Emu(url, ca, proc)
        generated = [t for t in e.ctl("GET", "tenants").json() if t["name"].startswith("Generated Tenant")]
        assert [t["name"] for t in generated] == ["Generated Tenant %04d" % i for i in (1, 2, 3)]
        assert all(t["backup_server"] == "vbr01" and t["type"] == "standalone" and t["password_set"] for t in generated)
        assert [t["resources"][0]["repository"] for t in generated] == ["Backup Volume 01"] * 3
        token, _session = e.login()
        r = e.req("GET", "/api/cloud/tenants?format=Entity", token)
        assert r.status_code == 200
        names = [t.get("Name") for t in xml(r).iterfind("e:CloudTenant", N)]
        assert names[-3:] == ["Generated Tenant 0001", "Generated Tenant 0002", "Generated Tenant 0003"]
        tenant = xml(r).find("e:CloudTenant[@Name='Generated Tenant 0002']", N)
        assert tenant.findtext("e:Description", namespaces=N) == "Generated customer 2"
        assert tenant.find("e:TenantType/e:StandaloneTenant", N) is not None
        # A reset seeds them again, with the same ids.
        assert e.ctl("POST", "reset").status_code == 200
        again = [t for t in e.ctl("GET", "tenants").json() if t["name"].startswith("Generated Tenant")]
        assert [t["id"] for t in again] == [t["id"] for t in generated]
    finally:
        proc.terminate()
        proc.wait(10)
