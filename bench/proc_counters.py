"""What a process spent on a run, from /proc: user and system CPU, read and write system calls, and
context switches, summed over all its threads; and the same as figures per request.

    before = snapshot(pid)
    ... the run ...
    per_request(before, snapshot(pid), requests)  -> {"user_us": 2.9, "sys_us": 17.7, ...}

/proc/PID/io's syscr/syscw count read(2)/readv(2) and write(2)/writev(2) calls of the whole process
(threads that ended included); sends and receives through io_uring and epoll_wait are not in them.
Context switches are per thread (/proc/PID/task/TID/status), so the threads alive at the time are
summed. Optionally (`syscalls=True`) every system call of the process is counted with perf's
raw_syscalls:sys_enter tracepoint (root, linux-perf): the number that tells an io_uring transport
from the libuv one.
"""

import os
import signal
import subprocess

CLK_TCK = os.sysconf("SC_CLK_TCK")

# Per-request fields, in the order the tables print them.
FIELDS = ("user_us", "sys_us", "syscr", "syscw", "vcsw", "nvcsw", "syscalls")


def snapshot(pid):
    """Cumulative counters of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        snap = dict(user_s=int(rest[11]) / CLK_TCK, sys_s=int(rest[12]) / CLK_TCK)
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("syscr", "syscw"):
                    snap[key] = int(value)
    except OSError:
        return None
    vcsw = nvcsw = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        tids = []
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        vcsw += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        nvcsw += int(line.split()[1])
        except OSError:
            pass  # a thread that ended meanwhile
    snap.update(vcsw=vcsw, nvcsw=nvcsw)
    return snap


class SyscallCounter:
    """`perf stat -e raw_syscalls:sys_enter -p PID` around a run: every system call of the process."""

    def __init__(self, pid):
        self.pid = pid
        self.proc = None

    def start(self):
        try:
            self.proc = subprocess.Popen(["perf", "stat", "-x", ",", "-e", "raw_syscalls:sys_enter",
                                          "-p", str(self.pid)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        except OSError:
            self.proc = None
        return self

    def stop(self):
        """The count since start(), or None if perf could not count."""
        if not self.proc:
            return None
        self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return None
        for line in err.decode(errors="replace").splitlines():
            parts = line.split(",")
            if len(parts) > 2 and "raw_syscalls:sys_enter" in parts[2]:
                try:
                    return int(parts[0])
                except ValueError:
                    return None
        return None


def per_request(before, after, requests, syscalls=None):
    """Per-request figures between two snapshots (CPU in microseconds), or {} if either is missing."""
    if not before or not after or not requests:
        return {}
    res = dict(user_us=(after["user_s"] - before["user_s"]) / requests * 1e6,
               sys_us=(after["sys_s"] - before["sys_s"]) / requests * 1e6)
    for key in ("syscr", "syscw", "vcsw", "nvcsw"):
        if key in before and key in after:
            res[key] = (after[key] - before[key]) / requests
    if syscalls is not None:
        res["syscalls"] = syscalls / requests
    return {k: round(v, 3) for k, v in res.items()}
