# The flight recorder across power cuts (busybox sh, run by the VM test bed; /vmtest/lib.sh
# loaded). The host boots this guest again and again on one ext4 disk image (/dev/vda) and
# SIGKILLs qemu at a random moment while `headroom record` writes there (STAGE=record): the
# recorder prints one `decision time=...` line per pass, after the pass is committed, on the
# console the host watches. Every boot first opens what the boots before left: `headroom
# replay` over the whole recording (it fails if any stored pass does not decode) goes back as
# replay.json. STAGE=final: record FINAL_PASSES more passes, stop cleanly, replay again
# (replay-final.json), and report the disk's flush requests over those passes.
#
# The load: kubepods.slice (systemd driver layout) limited to 384 MiB, a Guaranteed pod holding
# 48 MiB, a BestEffort pod whose container allocates 16-208 MiB, holds it 1-2 s, and starts
# again, so each pass reads different figures.
set -u
P=/sys/fs/cgroup/kubepods.slice
BE=$P/kubepods-besteffort.slice
REC=/mnt/disk/rec
controllers="+memory +pids"

vm_check disk-mounts vm_disk /mnt/disk || exit 1
echo "powercut: boot $BOOT, stage $STAGE, write cache $(cat /sys/block/vda/queue/write_cache)"

mkdir -p $P && echo "$controllers" > $P/cgroup.subtree_control && echo $((384 << 20)) > $P/memory.max
mkdir -p $BE && echo "$controllers" > $BE/cgroup.subtree_control
G=$P/kubepods-podg0000000_0000_0000_0000_000000000001.slice
GC=$G/cri-containerd-$(printf '%064d' 1).scope
H=$BE/kubepods-besteffort-podbe000000_0000_0000_0000_000000000001.slice
HC=$H/cri-containerd-$(printf '%064d' 2).scope
mkdir -p $G $H && echo "$controllers" > $G/cgroup.subtree_control \
    && echo "$controllers" > $H/cgroup.subtree_control && mkdir -p $GC $HC
vm_in_cgroup $GC headroom worker alloc --mib 48 &
(
    while :; do
        vm_in_cgroup $HC headroom worker alloc --mib $((16 + RANDOM % 193)) --rate 400 \
            --hold $((1 + RANDOM % 2)) 2>/dev/null
    done
) &
sleep 1

if [ -e $REC/recording.sqlite ]; then
    headroom replay --recording $REC --format json > /tmp/replay.json 2> /tmp/replay.err
    echo $? > /tmp/replay.rc
    vm_file replay.json /tmp/replay.json
    vm_file replay.rc /tmp/replay.rc
    vm_file replay.err /tmp/replay.err
fi

# exec: in the background the recorder is then $! itself, not a subshell around it.
record() {
    HEADROOM_LOG=warn exec headroom record --period 100ms --config /etc/kc.yaml \
        --pods /etc/pods.json --pod-cgroup-root /kubepods.slice $REC
}

# Field 16 of the block layer's stat file: flush requests completed (Linux 5.5+).
flushes() { awk '{print $16}' /sys/block/vda/stat; }

if [ "$STAGE" = record ]; then
    echo "powercut: recording starts"
    (record)
    echo "powercut: the recorder exited with status $? before the power cut"
    exit 1
fi

before=$(flushes)
# The files exist before the loop below reads them: the background child opens its redirections
# only when it runs, and under load that can be after the first count (which then failed with
# "bad number" and stopped the recorder before its first pass).
: > /tmp/record.out
: > /tmp/record.err
record >> /tmp/record.out 2>> /tmp/record.err &
rpid=$!
while [ "$(grep -c '^decision' /tmp/record.out)" -lt "$FINAL_PASSES" ]; do
    kill -0 $rpid 2>/dev/null || break
    sleep 0.2
done
kill -TERM $rpid
wait $rpid
after=$(flushes)
cat /tmp/record.err
echo "powercut: final passes $(grep -c '^decision' /tmp/record.out), flushes $before -> $after"
vm_file record.out /tmp/record.out
echo "$before $after" > /tmp/flushes
vm_file flushes /tmp/flushes
headroom replay --recording $REC --format json > /tmp/replay.json 2> /tmp/replay.err
echo $? > /tmp/replay.rc
vm_file replay-final.json /tmp/replay.json
vm_file replay-final.rc /tmp/replay.rc
vm_file replay-final.err /tmp/replay.err
umount /mnt/disk
