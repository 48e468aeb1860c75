# The agent's race on cgroup v2 (busybox sh, run by the VM test bed; /vmtest/lib.sh loaded).
#
# kubepods.slice (systemd driver layout) limited to 512 MiB; a Guaranteed pod holding 100 MiB;
# per run a fresh BestEffort pod whose container allocates anonymous memory at $RATES (MiB/s,
# or "full") with a heartbeat file; threshold allocatableMemory.available<100Mi. Contenders
# ($CONTENDERS): the agent (--action kill, 10 s period), the 10 ms polling yardstick, none (the
# kernel OOM-kills), observe (the agent with --action none: when each mechanism fires).
# One CSV line per run goes back in race.csv; the host computes the figures.
# Then, if IDLE_SECS > 0: 110 empty pods, the agent and the yardstick side by side, their CPU
# time (schedstat, ns) over IDLE_SECS.
set -u
MIB=1048576
LIMIT=$((512 * MIB))
THRESHOLD=$((100 * MIB))
P=/sys/fs/cgroup/kubepods.slice
BE=$P/kubepods-besteffort.slice
controllers="+memory +pids"

mkdir -p $P && echo "$controllers" > $P/cgroup.subtree_control && echo $LIMIT > $P/memory.max
mkdir -p $BE && echo "$controllers" > $BE/cgroup.subtree_control
G=$P/kubepods-podg0000000_0000_0000_0000_000000000001.slice
GC=$G/cri-containerd-$(printf '%064d' 1).scope
mkdir -p $G && echo "$controllers" > $G/cgroup.subtree_control && mkdir -p $GC
sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' $GC headroom worker alloc --mib 100 &
sleep 2

cpu_ns() { # PID: on-CPU time of all its threads
    cat /proc/$1/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'
}

CPID=
start_contender() {
    case $1 in
    agent)
        HEADROOM_LOG=info headroom agent --config /etc/kc.yaml --period 10s --action kill \
            --pods /etc/pods.json --pod-cgroup-root /kubepods.slice --listen off \
            >> /tmp/agent.out 2>> /tmp/agent.log &
        CPID=$!
        ;;
    yardstick)
        headroom worker yardstick $P $BE --working-set-above $((LIMIT - THRESHOLD)) --every-ms 10 &
        CPID=$!
        ;;
    observe)
        # The agent deciding but acting on nothing: its log says when each early-warning
        # mechanism fired, run after run, while the kernel OOM-kills (the host compares).
        HEADROOM_LOG=info headroom agent --config /etc/kc.yaml --period 10s --action none \
            --pods /etc/pods.json --pod-cgroup-root /kubepods.slice --listen off \
            >> /tmp/observe.out 2>> /tmp/observe.log &
        CPID=$!
        ;;
    none) CPID= ;;
    esac
}

stop_contender() {
    if [ -n "$CPID" ]; then
        kill $CPID 2>/dev/null
        wait $CPID 2>/dev/null
    fi
    CPID=
}

RESULTS=/tmp/race.csv
: > $RESULTS
n=0
run_one() { # CONTENDER RATE
    n=$((n + 1))
    uid=$(printf 'be000000-0000-0000-0000-%012d' $n)
    slice=$BE/kubepods-besteffort-pod$(echo $uid | tr - _).slice
    ctr=$slice/cri-containerd-$(printf '%064d' $((n + 1000))).scope
    mkdir $slice && echo "$controllers" > $slice/cgroup.subtree_control && mkdir $ctr
    cur=$(cat $P/memory.current)
    inactive=$(vm_field $P/memory.stat inactive_file)
    oom0=$(vm_field $P/memory.events oom_kill)
    rate=
    [ "$2" = full ] || rate="--rate $2"
    hb=/tmp/hb-$n
    vm_in_cgroup $ctr headroom worker alloc --mib 1024 $rate --heartbeat $hb &
    hog=$!
    wait $hog
    status=$?
    oom1=$(vm_field $P/memory.events oom_kill)
    galive=0
    [ -n "$(cat $GC/cgroup.procs)" ] && galive=1
    echo "$1,$2,$n,$cur,$inactive,$oom0,$oom1,$status,$galive,$(cat $hb 2>/dev/null)" >> $RESULTS
    vm_rmdir $ctr $slice
    rm -f $hb
    # Let the contender see the pod go (the agent's cleanup pass) before the next run.
    sleep 1
}

for c in $CONTENDERS; do
    start_contender $c
    sleep 3
    for r in $RATES; do
        i=0
        while [ $i -lt $RUNS ]; do
            run_one $c $r
            i=$((i + 1))
        done
    done
    stop_contender
done
vm_file race.csv $RESULTS

if [ "${IDLE_SECS:-0}" -gt 0 ]; then
    i=0
    while [ $i -lt 110 ]; do
        i=$((i + 1))
        d=$BE/kubepods-besteffort-pod$(printf 'e0000000_0000_0000_0000_%012d' $i).slice
        mkdir $d && echo "$controllers" > $d/cgroup.subtree_control && mkdir $d/cri-containerd-$(printf '%064d' $((i + 5000))).scope
    done
    start_contender agent
    apid=$CPID
    headroom worker yardstick $P $BE --working-set-above $((LIMIT - THRESHOLD)) --every-ms 10 &
    ypid=$!
    # The same agent with notifications off: what the early warning itself costs.
    headroom agent --config /etc/kc.yaml --period 10s --notifications off --action none \
        --pods /etc/pods.json --pod-cgroup-root /kubepods.slice --listen off > /dev/null 2>&1 &
    qpid=$!
    sleep 3
    a0=$(cpu_ns $apid)
    y0=$(cpu_ns $ypid)
    q0=$(cpu_ns $qpid)
    sleep $IDLE_SECS
    a1=$(cpu_ns $apid)
    y1=$(cpu_ns $ypid)
    q1=$(cpu_ns $qpid)
    echo "idle,$IDLE_SECS,$a0,$a1,$y0,$y1,$q0,$q1" > /tmp/idle.csv
    vm_file idle.csv /tmp/idle.csv
    kill $ypid $qpid
    CPID=$apid
    stop_contender
fi
[ -s /tmp/agent.log ] && vm_file agent.log /tmp/agent.log
[ -s /tmp/observe.log ] && vm_file observe.log /tmp/observe.log
vm_case race-scenario-finished pass
