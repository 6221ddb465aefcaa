"""Seed virtual infrastructure: hierarchy roots (vCenter, Hyper-V host, vCloud Director) and their objects.

Each root belongs to one backup server.  Every object has a HierarchyObjRef
``urn:<Platform>:<Type>:<HierarchyRootId>.<moref>`` (emitted with ``Vm``,
compared case-insensitively), a type and a name.  The inventory covers every
VM the seed jobs include (also the ``--jobs N`` generated ones) plus extra
objects for include/lookup tests.

The vCloud Director root (``vcd01``, HostType ``VcdSystem``) holds organizations and their org VDCs, with refs
as the vendor pages print them (post_tenants.md): ``urn:vCloud:Organization:<root>.urn:vcloud:org:<guid>`` and
``urn:vCloud:OrgVdc:<root>.urn:vcloud:vdc:<guid>``; each VDC item also keeps its organization (``org``), which
the lookup never shows (a tenant create checks it).
"""

from __future__ import annotations

from . import seed

# name, backup server, HostType, ref platform, UniqueId
ROOTS = [
    ("vc01", "vbr01", "VC", "VMware", "5f1c7a0e-2b8d-4c1e-9a6b-0c3d4e5f6a01"),
    ("hv01", "vbr01", "HvServer", "HyperV", "hv01.lab.local"),
    ("vc02", "vbr02", "VC", "VMware", "5f1c7a0e-2b8d-4c1e-9a6b-0c3d4e5f6a02"),
    ("vcd01", "vbr01", "VcdSystem", "vCloud", "vcd01.provider.example"),
]

# per root name: (ObjectType, moref, name)
VC01_OBJECTS = [
    ("Vc", "vc01", "vc01.lab.local"),
    ("Datacenter", "datacenter-2", "DC1"),
    ("Folder", "group-v101", "Production"),
    ("Folder", "group-v102", "Test"),
    ("Cluster", "domain-c7", "Cluster01"),
    ("Host", "host-11", "esx01.lab.local"),
    ("Host", "host-12", "esx02.lab.local"),
    ("Datastore", "datastore-21", "datastore1"),
    ("Datastore", "datastore-22", "vsanDatastore"),
    ("ResourcePool", "resgroup-31", "Production RP"),
    ("VirtualApp", "resgroup-v41", "vApp01"),
    ("Tag", "tag-501", "Gold"),
    ("Tag", "tag-502", "Silver"),
    ("Template", "vm-7001", "win2022-template"),
    ("Vm", "vm-1021", "sql01"),
    ("Vm", "vm-1022", "sql02"),
    ("Vm", "vm-2001", "exch01"),
    ("Vm", "vm-2002", "exch02"),
    ("Vm", "vm-3001", "dc01"),
    ("Vm", "vm-4001", "app01"),
    ("Vm", "vm-5001", "fs01"),
    ("Vm", "vm-6001", "web01"),
    ("Vm", "vm-6002", "web02"),
    ("Vm", "vm-6003", "ubuntu88"),
    ("Vm", "vm-6004", "DNS"),
]
VC02_OBJECTS = [
    ("Vc", "vc02", "vc02.branch.local"),
    ("Datacenter", "datacenter-3", "Branch DC"),
    ("Folder", "group-v201", "Branch"),
    ("Host", "host-21", "esx-branch01.lab.local"),
    ("Datastore", "datastore-41", "branch-ds1"),
    ("ResourcePool", "resgroup-51", "Branch RP"),
    ("Vm", "vm-5001", "fs01"),
    ("Vm", "vm-701", "branch01"),
    ("Vm", "vm-702", "branch02"),
]
HV01_OBJECTS = [
    ("Host", "hv01.lab.local", "hv01.lab.local"),
    ("Vm", "2c1d7a4e-43b7-4d6a-9d9c-6a3b7f5e0c11", "hvfile01"),
    ("Vm", "6f0e2b1a-9c3d-4e5f-8a7b-1c2d3e4f5a61", "hvdc01"),
    ("Vm", "7a1b2c3d-4e5f-4a6b-9c8d-0e1f2a3b4c72", "hvsql01"),
]


def vcd_org_guid(org):
    return seed.guid("vcd-org", org)


def vcd_vdc_guid(org, vdc):
    return seed.guid("vcd-vdc", org, vdc)


# organization -> its org VDCs; "umbrella" has no tenant yet (the module creates one), "initech" has one
VCD_ORGS = [("initech", ["initech-prod-vdc", "initech-dr-vdc"]),
            ("umbrella", ["umbrella-vdc1", "umbrella-vdc2"]),
            ("hooli", ["hooli-vdc"])]
VCD01_OBJECTS = [("VcdSystem", "vcd01", "vcd01.provider.example")] + [
    obj for org, vdcs in VCD_ORGS
    for obj in [("Organization", "urn:vcloud:org:" + vcd_org_guid(org), org)]
    + [("OrgVdc", "urn:vcloud:vdc:" + vcd_vdc_guid(org, v), v, org) for v in vdcs]]

OBJECTS = {"vc01": VC01_OBJECTS, "vc02": VC02_OBJECTS, "hv01": HV01_OBJECTS, "vcd01": VCD01_OBJECTS}
ROOT_ID_BY_NAME = {"vc01": seed.VC_ROOT, "vc02": seed.VC2_ROOT, "hv01": seed.HV_ROOT, "vcd01": seed.VCD_ROOT}


def vcd_ref(otype, org, vdc=None):
    """The lookup's ref of a seeded vCD organization or org VDC."""
    moref = "urn:vcloud:vdc:" + vcd_vdc_guid(org, vdc) if vdc else "urn:vcloud:org:" + vcd_org_guid(org)
    return "urn:vCloud:%s:%s.%s" % (otype, seed.VCD_ROOT, moref)


def build(extra_jobs=0):
    """Return (roots OrderedDict-like list of dicts, items list of dicts)."""
    roots, items = [], []
    for name, server, host_type, platform, unique in ROOTS:
        rid = ROOT_ID_BY_NAME[name]
        roots.append({"id": rid, "name": name, "server_id": seed.server_id(server), "host_type": host_type,
                      "platform": platform, "unique_id": unique})
        objs = list(OBJECTS[name])
        if name == "vc01":
            objs += [("Vm", "vm-%d" % (9000 + n), "gen%04d" % n) for n in range(1, extra_jobs + 1)]
        for otype, moref, oname, *org in objs:
            items.append({"root_id": rid, "type": otype, "name": oname,
                          "ref": "urn:%s:%s:%s.%s" % (platform, otype, rid, moref), "org": org[0] if org else None})
    return roots, items
