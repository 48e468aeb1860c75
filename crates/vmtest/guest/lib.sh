# Guest-side library of the headroom VM test bed (busybox sh). Loaded before every scenario.
# Results go to the results port /dev/ttyS1 as "@@vmtest ..." lines the host parses:
#   vm_case NAME pass|fail [MESSAGE]   one test case's outcome (NAME: no spaces)
#   vm_check NAME COMMAND...           run COMMAND; pass if it exits 0, else fail with its output
#   vm_file NAME PATH                  bring a file back to the host (base64 over the port)
#   vm_insmod MODULE [PARAM=VALUE...]  load a module shipped in the image, dependencies first
#   vm_ramdisk MOUNTPOINT SIZE_MIB     a RAM disk (brd) formatted ext2, mounted with the ext4
#                                      driver: real page cache (the initramfs is shmem); once
#   vm_disk MOUNTPOINT [DEVICE]        mount the ext4 disk image attached with Guest::disk
#                                      (default /dev/vda): persistent across boots
#   vm_in_cgroup CGROUP_DIR COMMAND... run COMMAND inside a cgroup from its first page
#   vm_rmdir DIR...                    remove (empty) cgroup directories, waiting up to 1 s
#                                      each for their last processes to be reaped
#   vm_field FILE KEY                  the value of the "KEY value" line of FILE (memory.stat,
#                                      memory.events)
# Everything a scenario prints goes to the console (the guest's log the host shows on failure).

VM_RESULTS=/dev/ttyS1

vm_emit() {
    echo "@@vmtest $*" >> "$VM_RESULTS"
}

vm_case() {
    _name=$(echo "$1" | tr ' ' '_')
    _status=$2
    shift 2
    _msg=$(printf '%s' "$*" | base64 | tr -d '\n')
    [ -n "$_msg" ] || _msg=-
    echo "vmtest: case $_name: $_status${*:+: $*}"
    vm_emit "case $_name $_status $_msg"
}

vm_check() {
    _cname=$1
    shift
    _out=/tmp/vmtest-check.$$
    "$@" > "$_out" 2>&1
    _rc=$?
    cat "$_out"
    if [ "$_rc" = 0 ]; then
        vm_case "$_cname" pass
    else
        vm_case "$_cname" fail "exit status $_rc of: $*
$(tail -n 60 "$_out")"
    fi
    rm -f "$_out"
    return "$_rc"
}

vm_file() {
    if [ ! -r "$2" ]; then
        vm_case "file-$1" fail "vm_file: $2 does not exist"
        return 1
    fi
    {
        echo "@@vmtest file $1"
        base64 "$2"
        echo "@@vmtest end-file $1"
    } >> "$VM_RESULTS"
}

vm_insmod() {
    _mod=$1
    shift
    for _dep in $(cat "/vmtest/modules/$_mod.deps" 2>/dev/null); do
        [ -d "/sys/module/$(echo "$_dep" | tr - _)" ] || insmod "/vmtest/modules/$_dep.ko" || return 1
    done
    [ -d "/sys/module/$(echo "$_mod" | tr - _)" ] || insmod "/vmtest/modules/$_mod.ko" "$@"
}

vm_ramdisk() {
    vm_insmod brd rd_nr=1 "rd_size=$(($2 * 1024))" || return 1
    vm_insmod crc32c_generic || return 1
    vm_insmod ext4 || return 1
    mke2fs -q /dev/ram0 > /dev/null || mke2fs /dev/ram0 || return 1
    mkdir -p "$1"
    mount -t ext4 /dev/ram0 "$1"
}

vm_disk() {
    _dev=${2:-/dev/vda}
    for _m in virtio_pci virtio_blk crc32c_generic ext4; do
        vm_insmod "$_m" || { echo "vm_disk: cannot load $_m"; return 1; }
    done
    # devtmpfs makes the node when the driver has probed the disk.
    for _ in $(seq 100); do
        [ -b "$_dev" ] && break
        sleep 0.1
    done
    [ -b "$_dev" ] || { echo "vm_disk: no $_dev (was a disk attached with Guest::disk?)"; return 1; }
    mkdir -p "$1"
    mount -t ext4 "$_dev" "$1"
}

vm_in_cgroup() {
    _cg=$1
    shift
    sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$_cg" "$@"
}

vm_rmdir() {
    for _d in "$@"; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            rmdir "$_d" 2>/dev/null && break
            [ -d "$_d" ] || break
            sleep 0.1
        done
    done
}

vm_field() {
    grep "^$2 " "$1" | cut -d' ' -f2
}
