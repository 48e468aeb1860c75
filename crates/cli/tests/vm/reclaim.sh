# Reclaim before evict (issue #16) on cgroup v2 (busybox sh, run by the VM test bed;
# /vmtest/lib.sh loaded). The kubelet policy and reclaim-first side by side in one boot.
#
# kubepods.slice (systemd driver layout) limited to $LIMIT_MIB MiB, threshold
# allocatableMemory.available<${THRESHOLD_MIB}Mi (met when the working set passes the
# difference). Each run starts from dropped caches with a fresh agent (--action kill,
# --policy $POLICY) and a fresh pod:
# - hot: a Burstable pod holding $POD_ANON_MIB MiB of anonymous memory re-reads a $FILE_MIB MiB
#   file on an ext4 RAM disk. The first pass fills the inactive list (not in the working set),
#   the second activates it: from then on the working set is file + anon, over the threshold,
#   while the cgroup stays well below its limit (a false eviction, if the agent evicts). The
#   run lasts until $HOT_SECS seconds after the second pass completed (the agent gets at least
#   two periodic passes with the cache hot), or until the reader is gone, or $HOT_TIMEOUT
#   seconds: under TCG on a loaded host a cold pass can take minutes, so no fixed duration.
# - anon: a BestEffort hog allocates anonymous memory at $ANON_RATE MiB/s up to 1 GiB; it must
#   be evicted before the kernel's OOM killer.
# One CSV line per run in reclaim.csv (fields below); the host computes the figures.
set -u
MIB=1048576
LIMIT=$((LIMIT_MIB * MIB))
P=/sys/fs/cgroup/kubepods.slice
BU=$P/kubepods-burstable.slice
BE=$P/kubepods-besteffort.slice
controllers="+memory +pids"

cat > /tmp/kc.yaml <<KC
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
evictionHard:
  allocatableMemory.available: "${THRESHOLD_MIB}Mi"
KC

mkdir -p $P && echo "$controllers" > $P/cgroup.subtree_control && echo $LIMIT > $P/memory.max
for s in $BU $BE; do mkdir -p $s && echo "$controllers" > $s/cgroup.subtree_control; done
vm_ramdisk /data $((FILE_MIB + 64)) || { vm_case setup fail "no ext4 RAM disk"; exit 1; }
headroom worker write-file /data/hot ${FILE_MIB}M || { vm_case setup fail "write-file"; exit 1; }
sync

# Sum of KEY=value over the lines of FILE that carry it.
sum_key() { # FILE KEY
    tr ' ' '\n' < "$1" | grep "^$2=" | cut -d= -f2 | awk '{s += $1} END {printf "%.0f\n", s}'
}

AGENT=
start_agent() { # POLICY OUT
    HEADROOM_LOG=${AGENT_LOG:-info} headroom agent --config /tmp/kc.yaml --period 10s --action kill \
        --policy "$1" --pod-cgroup-root /kubepods.slice --listen off \
        > "$2" 2> "$2.log" &
    AGENT=$!
}

stop_agent() {
    [ -n "$AGENT" ] && kill $AGENT 2>/dev/null && wait $AGENT 2>/dev/null
    AGENT=
}

kill_cgroup() { # DIR
    for _ in 1 2 3 4 5; do
        procs=$(cat "$1/cgroup.procs" 2>/dev/null)
        [ -z "$procs" ] && break
        kill -9 $procs 2>/dev/null
        sleep 0.2
    done
}

RESULTS=/tmp/reclaim.csv
: > $RESULTS
# policy,n,ms since the reader started,working set,active_file,anon,inactive_file,passes of
# the pods cgroup during hot runs.
SERIES=/tmp/series.csv
: > $SERIES
n=0
new_pod() { # QOS-SLICE PREFIX -> sets slice, ctr
    n=$((n + 1))
    uid=$(printf 'rc000000_0000_0000_0000_%012d' $n)
    slice=$1/$2-pod$uid.slice
    ctr=$slice/cri-containerd-$(printf '%064d' $n).scope
    mkdir $slice && echo "$controllers" > $slice/cgroup.subtree_control && mkdir $ctr
}

fresh_start() {
    sync
    echo 3 > /proc/sys/vm/drop_caches
    sleep 1
}

# Guest uptime in centiseconds, without a fork (the sampler must not starve the reader).
now_cs() {
    read -r up _ < /proc/uptime
    echo "${up%.*}${up#*.}"
}

# active_file, inactive_file, anon of the pods cgroup into $act $ina $an, without a fork.
pods_stat() {
    while read -r k v; do
        case $k in
            active_file) act=$v ;;
            inactive_file) ina=$v ;;
            anon) an=$v ;;
        esac
    done < $P/memory.stat
}

# hot,POLICY,n,kills,oom0,oom1,reader_alive,reads,refault0,refault1,max_ws,active_file,anon,
#   attempts,asked,reclaimed,holds
run_hot() { # POLICY
    fresh_start
    new_pod $BU kubepods-burstable
    out=/tmp/hot-$n.out
    oom0=$(vm_field $P/memory.events oom_kill)
    start_agent $1 $out
    sleep 2
    refault0=$(vm_field $P/memory.stat workingset_refault_file)
    echo 0 > /tmp/reads
    echo none > /tmp/reader.pid
    vm_in_cgroup $ctr headroom worker alloc --mib $POD_ANON_MIB > /dev/null &
    vm_in_cgroup $ctr sh -c 'echo $$ > /tmp/reader.pid; r=0; while headroom worker read-file /data/hot > /dev/null; do r=$((r + 1)); echo $r > /tmp/reads; done' &
    t0=$(now_cs)
    max_ws=0
    reads=0
    hot_since=
    while :; do
        sleep 0.5
        read -r cur < $P/memory.current
        pods_stat
        ws=$((cur - ina))
        [ $ws -gt $max_ws ] && max_ws=$ws
        r=
        read -r r < /tmp/reads
        [ -n "$r" ] && reads=$r
        el=$(( $(now_cs) - t0 ))
        echo "$1,$n,$((el * 10)),$ws,$act,$an,$ina,$reads" >> $SERIES
        # The agent kills the whole pod (a zombie reader would still answer kill -0).
        procs=
        read -r procs < $ctr/cgroup.procs
        [ -z "$procs" ] && break
        [ -z "$hot_since" ] && [ $reads -ge 2 ] && hot_since=$el
        [ -n "$hot_since" ] && [ $((el - hot_since)) -ge $((HOT_SECS * 100)) ] && break
        [ $el -ge $((HOT_TIMEOUT * 100)) ] && break
    done
    echo "vmtest: hot $1 run $n: $reads passes, $((el / 100)) s, max working set $((max_ws / MIB)) MiB"
    # Alive: the reader's loop is still in the pod (the shell's own job may linger as a zombie).
    alive=0
    grep -qx "$(cat /tmp/reader.pid)" $ctr/cgroup.procs && alive=1
    refault1=$(vm_field $P/memory.stat workingset_refault_file)
    active=$(vm_field $P/memory.stat active_file)
    anon=$(vm_field $P/memory.stat anon)
    oom1=$(vm_field $P/memory.events oom_kill)
    stop_agent
    kills=$(grep -c '^action action=kill' $out)
    attempts=$(grep -c 'asked=' $out)
    holds=$(grep -c 'reclaim=hold' $out)
    echo "hot,$1,$n,$kills,$oom0,$oom1,$alive,$reads,$refault0,$refault1,$max_ws,$active,$anon,$attempts,$(sum_key $out asked),$(sum_key $out reclaimed),$holds" >> $RESULTS
    cat $out >> /tmp/agent.out
    { echo "=== $1 run $n"; cat $out.log; } >> /tmp/agent.log
    kill_cgroup $ctr
    wait 2>/dev/null
    vm_rmdir $ctr $slice
}

# anon,POLICY,n,usage,inactive,oom0,oom1,status,kills,attempts,probe_current,probe_allocated,
#   heartbeat
run_anon() { # POLICY
    fresh_start
    new_pod $BE kubepods-besteffort
    out=/tmp/anon-$n.out
    start_agent $1 $out
    sleep 2
    cur=$(cat $P/memory.current)
    inactive=$(vm_field $P/memory.stat inactive_file)
    oom0=$(vm_field $P/memory.events oom_kill)
    hb=/tmp/hb-$n
    vm_in_cgroup $ctr headroom worker alloc --mib 1024 --rate $ANON_RATE --heartbeat $hb &
    hog=$!
    # The hog's own overhead (binary, stack, page tables, heartbeat file): its container's
    # usage less what it had allocated, read together a second in (far below the line). The
    # host needs it to place the crossing: without it, a reaction of a few ms is lost in an
    # offset of about a MiB.
    sleep 1
    probe_cur=0
    probe_alloc=0
    read -r probe_cur < $ctr/memory.current
    hbline=
    read -r hbline < $hb
    case $hbline in *allocated=*) probe_alloc=${hbline#*allocated=}; probe_alloc=${probe_alloc%% *} ;; esac
    wait $hog
    status=$?
    oom1=$(vm_field $P/memory.events oom_kill)
    sleep 1
    stop_agent
    kills=$(grep -c '^action action=kill' $out)
    attempts=$(grep -c 'asked=' $out)
    echo "anon,$1,$n,$cur,$inactive,$oom0,$oom1,$status,$kills,$attempts,$probe_cur,$probe_alloc,$(cat $hb 2>/dev/null)" >> $RESULTS
    cat $out >> /tmp/agent.out
    { echo "=== $1 run $n"; cat $out.log; } >> /tmp/agent.log
    kill_cgroup $ctr
    vm_rmdir $ctr $slice
    rm -f $hb
}

# SCENARIOS: which scenarios run, in order (default both; e.g. "anon" to study the reaction).
for scenario in ${SCENARIOS:-hot anon}; do
    i=0
    while [ $i -lt $RUNS ]; do
        for policy in kubelet reclaim-first; do run_$scenario $policy; done
        i=$((i + 1))
    done
done
vm_file reclaim.csv $RESULTS
vm_file series.csv $SERIES
[ -s /tmp/agent.out ] && vm_file agent.out /tmp/agent.out
[ -s /tmp/agent.log ] && vm_file agent.log /tmp/agent.log
vm_case reclaim-scenario-finished pass
