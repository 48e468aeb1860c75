#!/bin/busybox sh
# The test VM's /init (PID 1): mount the basics and a cgroup v2 hierarchy with the memory
# controller, run /vmtest/scenario.sh with /vmtest/lib.sh loaded, report its exit status on the
# results port (/dev/ttyS1), power off. The scenario's output goes to the console (/dev/ttyS0),
# which the host keeps as the guest's log.
/bin/busybox --install -s /bin
export PATH=/vmtest/bin:/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root TMPDIR=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /root /var/tmp
hostname vmtest
stty -F /dev/ttyS1 raw -echo 2>/dev/null
. /vmtest/lib.sh
vm_emit "boot $(cut -d' ' -f1 /proc/uptime) $(uname -r)"

mount -t cgroup2 none /sys/fs/cgroup || vm_emit "warn cannot mount cgroup2"
echo "+memory +pids" > /sys/fs/cgroup/cgroup.subtree_control || vm_emit "warn cannot enable +memory +pids"

[ -f /vmtest/env.sh ] && . /vmtest/env.sh
echo "vmtest: scenario starts ($(cut -d' ' -f1 /proc/uptime) s after boot)"
/bin/sh -c '. /vmtest/lib.sh; [ -f /vmtest/env.sh ] && . /vmtest/env.sh; . /vmtest/scenario.sh' </dev/null
rc=$?
echo "vmtest: scenario exited with status $rc ($(cut -d' ' -f1 /proc/uptime) s after boot)"
vm_emit "exit $rc"
vm_emit "end"
sync
poweroff -f
