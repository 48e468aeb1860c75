# cgroup v2 kernel scenario (runs in the test VM, see crates/vmtest): the kubelet's two pod
# layouts on a real v2 memory controller, pods holding anonymous memory, page cache read once
# (inactive) and twice (active) on an ext4 RAM disk, tmpfs, one pod under memory pressure and
# one OOM kill; then headroom's commands, each between two snapshots of the kernel's own files.
# The host (crates/cli/tests/vm_v2.rs) compares what headroom printed with those files.
CG=/sys/fs/cgroup
SYSTEMD_ROOT=kubepods.slice
CGROUPFS_ROOT=kubepods

# mkcg PATH: create PATH under $CG, enabling memory and pids in every parent on the way.
mkcg() {
    _p=$CG
    for _part in $(echo "$1" | tr '/' ' '); do
        [ "$_p" = "$CG" ] || echo "+memory +pids" > "$_p/cgroup.subtree_control"
        _p=$_p/$_part
        mkdir -p "$_p"
    done
}

# wait_stat CGROUP KEY BYTES: until memory.stat KEY >= BYTES (at most ~120 s of guest time).
wait_stat() {
    _i=0
    while [ "$_i" -lt 1200 ]; do
        _v=$(grep "^$2 " "$CG/$1/memory.stat" | cut -d' ' -f2)
        [ "${_v:-0}" -ge "$3" ] && return 0
        sleep 0.1
        _i=$((_i + 1))
    done
    echo "wait_stat: $1 $2 stayed at ${_v:-?} < $3"
    return 1
}

# snap OUT: the kernel's files headroom reads, for the node and both pod trees, in one go
# ("==> path <==" before each file).
snap() {
    {
        head -n 100000 /proc/meminfo /proc/pressure/memory $CG/memory.stat $CG/memory.pressure
        for _d in $(find $CG/$SYSTEMD_ROOT $CG/$CGROUPFS_ROOT -type d); do
            head -n 100000 "$_d/memory.current" "$_d/memory.max" "$_d/memory.stat" \
                "$_d/memory.pressure" "$_d/memory.events" "$_d/memory.swap.current" 2>/dev/null
        done
    } > "$1"
}

MIB=1048576
vm_ramdisk /data 640 || { vm_case setup fail "no ext4 RAM disk"; exit 1; }
mkdir -p /var/lib/kubelet /var/lib/containerd /dev/shm-pods
mount -t tmpfs tmpfs /dev/shm-pods

# Files written from the root cgroup, then dropped from the cache: the pods' reads bring them in.
for f in sd-once sd-twice fs-once fs-twice thrash; do
    headroom worker write-file /data/$f 32M || vm_case setup fail "write-file $f"
done
sync
echo 3 > /proc/sys/vm/drop_caches

# --- systemd driver: kubepods.slice/{pod (Guaranteed), burstable, besteffort}
SD_G=$SYSTEMD_ROOT/kubepods-pod0a0a0a0a_0000_4000_8000_000000000001.slice
SD_G_C=$SD_G/cri-containerd-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa01.scope
SD_B=$SYSTEMD_ROOT/kubepods-burstable.slice/kubepods-burstable-pod0a0a0a0a_0000_4000_8000_000000000002.slice
SD_B_C1=$SD_B/cri-containerd-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb01.scope
SD_B_C2=$SD_B/cri-containerd-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb02.scope
SD_E=$SYSTEMD_ROOT/kubepods-besteffort.slice/kubepods-besteffort-pod0a0a0a0a_0000_4000_8000_000000000003.slice
SD_E_C=$SD_E/cri-containerd-cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc01.scope
for c in $SD_G_C $SD_B_C1 $SD_B_C2 $SD_E_C; do mkcg $c; done
echo 768M > $CG/$SYSTEMD_ROOT/memory.max
echo 256M > $CG/$SD_G/memory.max
echo 256M > $CG/$SD_G_C/memory.max

# --- cgroupfs driver: kubepods/{pod<uid> (Guaranteed), burstable, besteffort}
FS_G=$CGROUPFS_ROOT/pod0b0b0b0b-0000-4000-8000-000000000001
FS_G_C=$FS_G/dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd01
FS_B=$CGROUPFS_ROOT/burstable/pod0b0b0b0b-0000-4000-8000-000000000002
FS_B_C=$FS_B/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee01
FS_E=$CGROUPFS_ROOT/besteffort/pod0b0b0b0b-0000-4000-8000-000000000003
FS_E_C1=$FS_E/ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff01
FS_E_C2=$FS_E/ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff02
FS_E_C3=$FS_E/ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff03
for c in $FS_G_C $FS_B_C $FS_E_C1 $FS_E_C2 $FS_E_C3; do mkcg $c; done
echo 512M > $CG/$CGROUPFS_ROOT/memory.max
echo 128M > $CG/$FS_G/memory.max
echo 128M > $CG/$FS_G_C/memory.max

# Workloads. Anonymous memory (held until the end):
vm_in_cgroup $CG/$SD_G_C headroom worker alloc --mib 48 &
vm_in_cgroup $CG/$FS_G_C headroom worker alloc --mib 24 &
vm_in_cgroup $CG/$SD_B_C2 headroom worker alloc --mib 8 &
# Page cache read once (inactive) and twice (active), by processes that then exit:
vm_in_cgroup $CG/$SD_B_C1 headroom worker read-file /data/sd-once
vm_in_cgroup $CG/$SD_E_C headroom worker read-file /data/sd-twice
vm_in_cgroup $CG/$SD_E_C headroom worker read-file /data/sd-twice
vm_in_cgroup $CG/$FS_B_C headroom worker read-file /data/fs-once
vm_in_cgroup $CG/$FS_E_C1 headroom worker read-file /data/fs-twice
vm_in_cgroup $CG/$FS_E_C1 headroom worker read-file /data/fs-twice
# tmpfs (shmem: file pages that are never inactive_file, so always in the working set):
vm_in_cgroup $CG/$FS_E_C2 dd if=/dev/zero of=/dev/shm-pods/fs bs=1M count=16 2>/dev/null
# Memory pressure: a 12 MiB limit and a 32 MiB file read over and over (reclaim, stalls,
# memory.events high/max), then an OOM kill in a sibling (memory.events oom_kill):
echo 12M > $CG/$FS_E_C3/memory.max
vm_in_cgroup $CG/$FS_E_C3 sh -c 'for i in 1 2 3 4; do headroom worker read-file /data/thrash; done'
echo 16M > $CG/$SD_B_C2/memory.max 2>/dev/null # already holds 8 MiB: fine
vm_in_cgroup $CG/$FS_E_C3 headroom worker alloc --mib 64 --hold 0
echo "oom-kill test: alloc exited with $? (137 expected: killed)"
# Sleepers keep a process in every container, as a runtime does.
for c in $SD_G_C $SD_B_C1 $SD_B_C2 $SD_E_C $FS_G_C $FS_B_C $FS_E_C1 $FS_E_C2 $FS_E_C3; do
    vm_in_cgroup $CG/$c headroom worker sleep &
done
wait_stat $SD_G_C anon $((48 * MIB)) && wait_stat $FS_G_C anon $((24 * MIB)) \
    && wait_stat $SD_B_C2 anon $((8 * MIB)) && vm_case setup pass || vm_case setup fail "allocations did not finish"
sleep 1

# Each command between two snapshots, for each driver.
for drv in systemd cgroupfs; do
    if [ $drv = systemd ]; then root=/$SYSTEMD_ROOT; else root=/$CGROUPFS_ROOT; fi
    snap /tmp/k-$drv-1
    headroom summary --pod-cgroup-root $root > /tmp/summary-$drv.json 2> /tmp/summary-$drv.err
    echo $? > /tmp/summary-$drv.rc
    snap /tmp/k-$drv-2
    headroom status --verbose --pod-cgroup-root $root > /tmp/status-$drv.txt 2>&1
    echo $? > /tmp/status-$drv.rc
    snap /tmp/k-$drv-3
    headroom status --pod-cgroup-root $root --format json > /tmp/status-$drv.json 2>/tmp/status-json-$drv.err
    echo $? > /tmp/status-json-$drv.rc
    snap /tmp/k-$drv-4
    headroom capture --pod-cgroup-root $root --output /tmp/capture-$drv.tar.gz > /tmp/capture-$drv.out 2>&1
    echo $? > /tmp/capture-$drv.rc
    snap /tmp/k-$drv-5
    headroom status --verbose --root /tmp/capture-$drv.tar.gz --pod-cgroup-root $root > /tmp/status-root-$drv.txt 2>&1
    echo $? > /tmp/status-root-$drv.rc
    headroom summary --root /tmp/capture-$drv.tar.gz --pod-cgroup-root $root > /tmp/summary-root-$drv.json 2>/dev/null
    echo $? > /tmp/summary-root-$drv.rc
    for f in /tmp/k-$drv-* /tmp/summary-$drv.* /tmp/status-$drv.* /tmp/status-json-$drv.* /tmp/capture-$drv.* /tmp/status-root-$drv.* /tmp/summary-root-$drv.*; do
        vm_file "$(basename "$f")" "$f"
    done
done
cat /tmp/status-systemd.txt

# The experiments, on the RAM disk (real page cache) in temporary v2 cgroups.
headroom experiment page-cache --size 64M --dir /data --format json > /tmp/page-cache.json 2> /tmp/page-cache.err
echo $? > /tmp/page-cache.rc
headroom experiment hot-cache --limit 256M --rate 20M/s --dir /data --format json > /tmp/hot-cache.json 2> /tmp/hot-cache.err
echo $? > /tmp/hot-cache.rc
ls $CG > /tmp/cgroups-after-experiments
for f in /tmp/page-cache.* /tmp/hot-cache.* /tmp/cgroups-after-experiments; do vm_file "$(basename "$f")" "$f"; done
cat /tmp/page-cache.err /tmp/hot-cache.err
vm_case done pass
