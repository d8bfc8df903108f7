# SPDX-License-Identifier: GPL-3.0-or-later
"""The storage view of a kernel crash dump, run by hotkdump under drgn:

    drgn -q -c DUMP -s VMLINUX [-s MODULE.ko ...] storage-view.py

Prints one JSON object on stdout: the device-mapper devices with their live tables (and the
path groups of multipath maps), the SCSI hosts and devices with the commands in flight, and
every disk with its in-flight count and the age of its oldest request. Ages are seconds
before the dump was taken (the dump's jiffies). Each part is read on its own: a part this
kernel does not have, or whose structures changed, is reported in "errors" and the others
still come. hotkdump (pipeline/storage/storage.c) checks and keeps what this prints; no
field here is trusted beyond its type.
"""
import json
import sys

from drgn import Object, cast, container_of
from drgn.helpers.linux.block import disk_name, for_each_disk
from drgn.helpers.linux.list import list_for_each_entry

SCHEMA = 1
MQ_RQ_IN_FLIGHT = 1
DMF_SUSPENDED = 1  # drivers/md/dm-core.h
view = {"schema": SCHEMA, "errors": []}


def text(obj, n=None):
    """A C string (or the first n bytes of a char array), printable."""
    try:
        raw = obj.string_() if n is None else bytes(obj.read_())[:n]
    except Exception:
        return None
    return raw.split(b"\0")[0].decode("utf-8", "replace").strip()


def ctype(name, filename):
    """A type by name, from the source file that defines it when the name is also used
    elsewhere (struct multipath, struct priority_group …), else the first found."""
    try:
        return prog.type(name, filename)
    except LookupError:
        return prog.type(name)


def ptr(name, filename):
    return prog.pointer_type(ctype(name, filename))


def num(obj):
    """The value of an integer, an atomic_t, an atomic_long_t or a local_t (a struct whose
    first member, at some depth, is the number)."""
    for _ in range(4):
        v = obj.value_()
        if not isinstance(v, dict):
            return v
        obj = obj.member_(next(iter(v)))
    raise TypeError(f"not a number: {obj.type_}")


def cstr(pointer, n):
    """n bytes at a char pointer (vendor and model are not terminated)."""
    try:
        raw = prog.read(pointer.value_(), n)
    except Exception:
        return None
    return raw.split(b"\0")[0].decode("utf-8", "replace").strip()


def enum_name(obj):
    try:
        return obj.format_(type_name=False).split(".")[-1].split("::")[-1]
    except Exception:
        return str(obj.value_())


def has_member(type_name, member):
    try:
        prog.type(type_name).member(member)
        return True
    except LookupError:
        return False


def find(name):
    """A kernel variable by name (in vmlinux or a module), or None."""
    try:
        return prog[name]
    except KeyError:
        return None


def loaded_modules():
    try:
        return {text(m.name) for m in list_for_each_entry("struct module", prog["modules"].address_of_(), "list")}
    except Exception as e:
        view["errors"].append(f"modules: {type(e).__name__}: {e}")
        return set()


modules = loaded_modules()
jiffies = find("jiffies_64")
jiffies = jiffies.value_() if jiffies is not None else None
def hz_from_uptime():
    """HZ where the kernel no longer keeps tick_nsec (6.13 and later): the one of the usual
    values for which jiffies since boot (from INITIAL_JIFFIES, which is -300 s of them) agree
    with the monotonic clock's last update."""
    up = None
    for get in (lambda: prog["tk_core"].timekeeper, lambda: prog["timekeeper_data"][0].timekeeper):  # 6.15 renamed it
        try:
            up = get().tkr_mono.base.value_() / 1e9
            break
        except (KeyError, LookupError, AttributeError):
            continue
    if jiffies is None or not up or up <= 0:
        return None
    best = min((abs((jiffies - ((-300 * h) & 0xFFFFFFFF)) / h - up), h) for h in (100, 250, 300, 1000))
    return best[1] if best[0] < 5 else None


tick = find("tick_nsec")
hz = round(1e9 / tick.value_()) if tick is not None and tick.value_() else hz_from_uptime()
view["jiffies"] = jiffies
view["hz"] = hz


def age(start_jiffies):
    if jiffies is None or not hz:
        return None
    return round(((jiffies - start_jiffies) & 0xFFFFFFFFFFFFFFFF) / hz, 1) if jiffies >= start_jiffies else 0.0


def in_flight_requests(q):
    """The requests of a blk-mq queue in flight: (request, started at in jiffies)."""
    out = []
    ts = q.tag_set
    if not ts:
        return out
    seen = set()
    for h in range(ts.nr_hw_queues.value_()):
        tags = ts.tags[h]
        if not tags:
            continue
        for i in range(tags.nr_tags.value_()):
            rq = tags.rqs[i]
            if not rq or rq.value_() in seen:
                continue
            seen.add(rq.value_())
            if rq.q != q or rq.state.value_() != MQ_RQ_IN_FLIGHT:
                continue
            # blk_add_timer: deadline = the time it started + its timeout
            out.append((rq, rq.deadline.value_() - rq.timeout.value_()))
    return out


def disk_in_flight(d):
    """In flight on a disk that is not blk-mq (device-mapper): the per-CPU counters."""
    from drgn.helpers.linux.cpumask import for_each_possible_cpu
    from drgn.helpers.linux.percpu import per_cpu_ptr

    stats = d.part0.bd_stats
    n = 0
    for cpu in for_each_possible_cpu(prog):
        s = per_cpu_ptr(stats, cpu)
        n += num(s.in_flight[0]) + num(s.in_flight[1])
    return max(n, 0)


def all_disks():
    """Every disk. drgn's for_each_disk reads block_class.p, which 6.4 took away (a class's
    private part is found through class_kset since): then the same walk, from there."""
    try:
        return list(for_each_disk(prog))
    except AttributeError:
        pass
    block_class = prog["block_class"].address_of_()
    sp = None
    for kobj in list_for_each_entry("struct kobject", prog["class_kset"].list.address_of_(), "entry"):
        s = container_of(kobj, "struct subsys_private", "subsys.kobj")
        if s.member_("class") == block_class:
            sp = s
            break
    if sp is None:
        raise LookupError("block_class is not in class_kset")
    disk_type, out = prog["disk_type"].address_of_(), []
    for node in list_for_each_entry("struct klist_node", sp.klist_devices.k_list.address_of_(), "n_node"):
        dev = container_of(node, "struct device_private", "knode_class").device
        if dev.type == disk_type:  # not a partition
            out.append(container_of(dev, "struct block_device", "bd_device").bd_disk)
    return out


# --- block: every disk ---------------------------------------------------------------------
disks, scsi_disks = [], []
try:
    for d in all_disks():
        q = d.queue
        entry = {"name": disk_name(d).decode(), "major": d.major.value_(), "minor": d.first_minor.value_(),
                 "blk_mq": bool(q.mq_ops)}
        try:
            if q.mq_ops:
                reqs = in_flight_requests(q)
                entry["in_flight"] = len(reqs)
                if reqs:
                    entry["oldest_age_s"] = age(min(start for _, start in reqs))
            else:
                entry["in_flight"] = disk_in_flight(d)
        except Exception as e:
            view["errors"].append(f"block {entry['name']}: {type(e).__name__}: {e}")
            entry["in_flight"] = 0
        try:
            drv = text(d.fops.owner.name) if d.fops.owner else None
        except Exception:
            drv = None
        entry["driver"] = drv
        disks.append(entry)
        if drv == "sd_mod":
            scsi_disks.append((d, entry))
except Exception as e:
    view["errors"].append(f"block: {type(e).__name__}: {e}")
view["block"] = {"disks": disks}

# --- SCSI: the hosts and devices behind the disks, and the commands in flight --------------
hosts, devices = {}, []
try:
    seen_sdev = set()
    for d, _ in scsi_disks:
        sdkp = cast(ptr("struct scsi_disk", "sd.h"), d.private_data)
        shost = sdkp.device.host
        if shost.value_() not in hosts:
            hosts[shost.value_()] = shost
    for shost in hosts.values():
        for sdev in list_for_each_entry("struct scsi_device", shost.__devices.address_of_(), "siblings"):
            if sdev.value_() in seen_sdev:
                continue
            seen_sdev.add(sdev.value_())
            q = sdev.request_queue
            cmds = []
            for rq, start in in_flight_requests(q):
                # blk_mq_rq_to_pdu: the command follows its request
                cmd = cast("struct scsi_cmnd *", cast("unsigned long", rq) + prog.type("struct request").size)
                c = {"age_s": age(start), "tag": rq.tag.value_()}
                try:
                    c["opcode"] = "0x%02x" % cmd.cmnd[0].value_()
                    c["retries"] = cmd.retries.value_()
                except Exception:
                    pass
                cmds.append(c)
            cmds.sort(key=lambda c: -(c["age_s"] or 0))
            devices.append({
                "hctl": f"{shost.host_no.value_()}:{sdev.channel.value_()}:{sdev.id.value_()}:{sdev.lun.value_()}",
                "vendor": cstr(sdev.vendor, 8), "model": cstr(sdev.model, 16),
                "state": enum_name(sdev.sdev_state).removeprefix("SDEV_").lower(),
                "queue_depth": sdev.queue_depth.value_(),
                "timeout_s": round(q.rq_timeout.value_() / hz) if hz else None,
                "in_flight": cmds,
            })
except Exception as e:
    view["errors"].append(f"scsi: {type(e).__name__}: {e}")
host_list = []
for shost in hosts.values():
    try:
        busy = sum(len(d["in_flight"]) for d in devices if d["hctl"].split(":")[0] == str(shost.host_no.value_()))
        host_list.append({
            "host_no": shost.host_no.value_(),
            "driver": text(shost.hostt.proc_name) or text(shost.hostt.name),
            "state": enum_name(shost.shost_state).removeprefix("SHOST_").lower(),
            "busy": busy,
            "blocked": num(shost.host_blocked),
            "failed": shost.host_failed.value_(),
        })
    except Exception as e:
        view["errors"].append(f"scsi host: {type(e).__name__}: {e}")
view["scsi"] = {"hosts": sorted(host_list, key=lambda h: h["host_no"]), "devices": devices}

# --- device-mapper: every mapped device and its live table ---------------------------------
def dm_dev(d, by_dev):
    """A table's device ("8:0", as dmsetup table prints it) and its disk's name, if a disk."""
    name = text(d.name)
    try:
        major, minor = (int(x) for x in name.split(":"))
        return name, by_dev.get((major, minor))
    except ValueError:
        return name, None


def detail(ti, kind, by_dev):
    """A target's parameters as dmsetup table shows them (where the target keeps them), its
    devices, and for multipath its path groups."""
    if kind == "linear":
        lc = cast(ptr("struct linear_c", "dm-linear.c"), ti.private)
        dev, _ = dm_dev(lc.dev, by_dev)
        return f"{dev} {lc.start.value_()}", [dev], None
    if kind == "multipath":
        m = cast(ptr("struct multipath", "dm-mpath.c"), ti.private)
        groups, devs = [], []
        pg_type, path_type = ctype("struct priority_group", "dm-mpath.c"), ctype("struct pgpath", "dm-mpath.c")
        for n, pg in enumerate(list_for_each_entry(pg_type, m.priority_groups.address_of_(), "list"), 1):
            paths = []
            for p in list_for_each_entry(path_type, pg.pgpaths.address_of_(), "list"):
                dev, disk = dm_dev(p.path.dev, by_dev)
                devs.append(dev)
                paths.append({"dev": dev, "disk": disk, "active": bool(p.is_active.value_()),
                              "fail_count": p.fail_count.value_()})
            groups.append({"group": n, "selector": text(pg.ps.type.name), "current": pg == m.current_pg,
                           "bypassed": bool(pg.bypassed.value_()), "paths": paths})
        params = f"{len(groups)} path group(s): " + "; ".join(
            f"{g['selector']} " + " ".join(p["dev"] for p in g["paths"]) for g in groups)
        return params, devs, groups
    return None, [], None


dm = []
minor_idr = find("_minor_idr")
if minor_idr is None:
    if "dm_mod" in modules:
        view["errors"].append("device-mapper: dm_mod is loaded but its debug file was not given")
    view["device_mapper"] = {"loaded": "dm_mod" in modules, "devices": []}
else:
    try:
        from drgn.helpers.linux.idr import idr_for_each

        by_dev = {(e["major"], e["minor"]): e["name"] for e in disks}
        ptr_md, ptr_hc, ptr_t = ptr("struct mapped_device", "dm-core.h"), ptr("struct hash_cell", "dm-ioctl.c"), \
            ptr("struct dm_table", "dm-core.h")
        for _, p in idr_for_each(minor_idr.address_of_()):
            if not p or p.value_() == 0xFFFFFFFFFFFFFFFF:  # MINOR_ALLOCED
                continue
            md = cast(ptr_md, p)
            entry = {"name": text(md.name), "dm": disk_name(md.disk).decode() if md.disk else None,
                     "open_count": num(md.open_count),
                     "suspended": bool(md.flags.value_() & (1 << DMF_SUSPENDED))}
            try:  # bios held back while it is suspended (dm_submit_bio queues them)
                n, bio = 0, md.deferred.head
                while bio and n < 100000:
                    n, bio = n + 1, bio.bi_next
                entry["deferred"] = n
            except (AttributeError, LookupError):
                pass
            hc = cast(ptr_hc, md.interface_ptr) if md.interface_ptr else None
            if hc:
                entry["name"] = text(hc.name) or entry["name"]
                entry["uuid"] = text(hc.uuid) if hc.uuid else ""
            table = []
            t = cast(ptr_t, md.map)
            if t:
                for i in range(t.num_targets.value_()):
                    ti = t.targets[i]
                    target = {"type": text(ti.type.name), "start": ti.begin.value_(), "length": ti.len.value_()}
                    params, devs, paths = None, [], None
                    try:
                        params, devs, paths = detail(ti, target["type"], by_dev)
                    except Exception as e:
                        view["errors"].append(f"dm {entry['name']} {target['type']}: {type(e).__name__}: {e}")
                    target["params"] = params
                    target["devices"] = devs
                    if paths is not None:
                        target["path_groups"] = paths
                    table.append(target)
                entry["devices"] = sorted({d for tg in table for d in tg["devices"]})
            entry["table"] = table
            dm.append(entry)
    except Exception as e:
        view["errors"].append(f"device-mapper: {type(e).__name__}: {e}")
    view["device_mapper"] = {"loaded": True, "devices": sorted(dm, key=lambda e: e["name"] or "")}

print(json.dumps(view, indent=1, sort_keys=True))
