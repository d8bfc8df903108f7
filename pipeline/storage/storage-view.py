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
DMF_BLOCK_IO_FOR_SUSPEND, DMF_SUSPENDED = 0, 1  # drivers/md/dm-core.h
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


# the names sysfs gives the states (drivers/scsi/scsi_sysfs.c), which the rules match
SDEV_STATES = {"CREATED": "created", "RUNNING": "running", "CANCEL": "cancel", "DEL": "deleted",
               "QUIESCE": "quiesce", "OFFLINE": "offline", "TRANSPORT_OFFLINE": "transport-offline",
               "BLOCK": "blocked", "CREATED_BLOCK": "created-blocked"}
SHOST_STATES = {"CREATED": "created", "RUNNING": "running", "CANCEL": "cancel", "DEL": "deleted",
                "RECOVERY": "recovery", "CANCEL_RECOVERY": "cancel-recovery", "DEL_RECOVERY": "deleted-recovery"}
CMDS_MAX = 64  # commands listed per device, the oldest; in_flight_count has them all
LOOP_MAX = 100000  # items one list walk reads: a crashed kernel's list may be corrupt or cyclic


def state_name(obj, prefix, names):
    raw = enum_name(obj).removeprefix(prefix)
    return names.get(raw, raw.lower().replace("_", "-"))


def bounded(items):
    for n, item in enumerate(items):
        if n >= LOOP_MAX:
            view["errors"].append(f"a list of more than {LOOP_MAX} items was cut there")
            return
        yield item


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
def read_or_none(get):
    try:
        return get()
    except Exception as e:  # a page the dump does not hold, a member this kernel lacks
        view["errors"].append(f"{type(e).__name__}: {e}")
        return None


jiffies = find("jiffies_64")
jiffies = read_or_none(jiffies.value_) if jiffies is not None else None
def monotonic_ns():
    """The monotonic clock at its last update before the dump (tk_core, timekeeper_data from
    6.15)."""
    for get in (lambda: prog["tk_core"].timekeeper, lambda: prog["timekeeper_data"][0].timekeeper):
        try:
            return get().tkr_mono.base.value_()
        except (KeyError, LookupError, AttributeError):
            continue
        except Exception:
            return None
    return None


def hz_from_uptime():
    """HZ where the kernel no longer keeps tick_nsec (6.13 and later): the one of the usual
    values for which jiffies since boot (from INITIAL_JIFFIES, which is -300 s of them) agree
    with the monotonic clock's last update."""
    mono = monotonic_ns()
    up = mono / 1e9 if mono else None
    if jiffies is None or not up or up <= 0:
        return None
    best = min((abs((jiffies - ((-300 * h) & 0xFFFFFFFF)) / h - up), h) for h in (100, 250, 300, 1000))
    return best[1] if best[0] < 5 else None


tick = find("tick_nsec")
tick = read_or_none(tick.value_) if tick is not None else None
hz = round(1e9 / tick) if tick else hz_from_uptime()
mono_now = monotonic_ns()
if not hz:
    view["errors"].append("HZ: neither tick_nsec nor the clocks give it; ages from jiffies are unknown")
view["jiffies"] = jiffies
view["hz"] = hz


def age(start):
    """Seconds from a request's start to the dump: ("ns", monotonic ns) or ("jiffies", j)."""
    kind, t = start
    if kind == "ns":
        return round((mono_now - t) / 1e9, 1) if mono_now and t <= mono_now else None
    if jiffies is None or not hz:
        return None
    return round((jiffies - t) / hz, 1) if jiffies >= t else None


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
            # when it was allocated, on the monotonic clock (set when the queue keeps I/O
            # statistics, as sd's do); else when its timer was last armed (blk_add_timer:
            # deadline = then + timeout), which a timeout handler that resets the timer moves
            t = rq.start_time_ns.value_() if has_member("struct request", "start_time_ns") else 0
            out.append((rq, ("ns", t) if t and mono_now else ("jiffies", rq.deadline.value_() - rq.timeout.value_())))
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
sd_fops = find("sd_fops")  # sd's: a SCSI disk, whether sd is a module or built in
sd_fops = sd_fops.address_of_() if sd_fops is not None else None
try:
    all_d = all_disks()
except Exception as e:
    view["errors"].append(f"block: {type(e).__name__}: {e}")
    all_d = []
for d in bounded(all_d):
    try:
        q = d.queue
        entry = {"name": disk_name(d).decode(), "major": d.major.value_(), "minor": d.first_minor.value_(),
                 "blk_mq": bool(q.mq_ops)}
    except Exception as e:
        view["errors"].append(f"block: a disk: {type(e).__name__}: {e}")
        continue
    try:
        if q.mq_ops:
            reqs = in_flight_requests(q)
            entry["in_flight"] = len(reqs)
            ages = [a for a in (age(start) for _, start in reqs) if a is not None]
            if ages:
                entry["oldest_age_s"] = max(ages)
        else:
            entry["in_flight"] = disk_in_flight(d)
    except Exception as e:
        view["errors"].append(f"block {entry['name']}: {type(e).__name__}: {e}")
        entry["in_flight"] = 0
    try:
        drv = text(d.fops.owner.name) if d.fops.owner else None
        is_sd = d.fops == sd_fops if sd_fops is not None else drv == "sd_mod"
    except Exception:
        drv, is_sd = None, False
    entry["driver"] = drv if drv else ("sd" if is_sd else None)
    disks.append(entry)
    if is_sd:
        scsi_disks.append((d, entry))
view["block"] = {"disks": disks}

# --- SCSI: the hosts and devices behind the disks, and the commands in flight --------------
hosts, devices = {}, []
seen_sdev = set()
for d, entry in scsi_disks:
    try:
        sdkp = cast(ptr("struct scsi_disk", "sd.h"), d.private_data)
        shost = sdkp.device.host
        if shost.value_() not in hosts:
            hosts[shost.value_()] = shost
    except Exception as e:
        view["errors"].append(f"scsi {entry['name']}: {type(e).__name__}: {e}")
for shost in hosts.values():
    try:
        sdevs = list(bounded(list_for_each_entry("struct scsi_device", shost.__devices.address_of_(), "siblings")))
    except Exception as e:
        view["errors"].append(f"scsi host: {type(e).__name__}: {e}")
        continue
    for sdev in sdevs:
        if sdev.value_() in seen_sdev:
            continue
        seen_sdev.add(sdev.value_())
        try:
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
                "state": state_name(sdev.sdev_state, "SDEV_", SDEV_STATES),
                "queue_depth": sdev.queue_depth.value_(),
                "timeout_s": round(q.rq_timeout.value_() / hz) if hz else None,
                "in_flight_count": len(cmds),
                "in_flight": cmds[:CMDS_MAX],
            })
        except Exception as e:
            view["errors"].append(f"scsi device: {type(e).__name__}: {e}")
host_list = []
for shost in hosts.values():
    try:
        busy = sum(d["in_flight_count"] for d in devices if d["hctl"].split(":")[0] == str(shost.host_no.value_()))
        host_list.append({
            "host_no": shost.host_no.value_(),
            "driver": text(shost.hostt.proc_name) or text(shost.hostt.name),
            "state": state_name(shost.shost_state, "SHOST_", SHOST_STATES),
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
        for _, p in bounded(idr_for_each(minor_idr.address_of_())):
            if not p or p.value_() == 0xFFFFFFFFFFFFFFFF:  # MINOR_ALLOCED
                continue
            try:
                md = cast(ptr_md, p)
                entry = {"name": text(md.name), "dm": disk_name(md.disk).decode() if md.disk else None,
                         "open_count": num(md.open_count),
                         "suspended": bool(md.flags.value_() & (1 << DMF_SUSPENDED)),
                         # a suspend waiting for I/O in flight: new I/O is held, not yet suspended
                         "suspending": bool(md.flags.value_() & (1 << DMF_BLOCK_IO_FOR_SUSPEND))
                         and not md.flags.value_() & (1 << DMF_SUSPENDED)}
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
                view["errors"].append(f"device-mapper: a device: {type(e).__name__}: {e}")
    except Exception as e:
        view["errors"].append(f"device-mapper: {type(e).__name__}: {e}")
    view["device_mapper"] = {"loaded": True, "devices": sorted(dm, key=lambda e: e["name"] or "")}

print(json.dumps(view, indent=1, sort_keys=True))
