"""A hostile model script: tries each way out of the sandbox and reports what happened.

Usage: hostile.py MODE [--target NAME=PATH ...] [--port N] [--token T]
Each attempt prints one line "ATTEMPT <name> <blocked|ESCAPED> <detail>"; the tests read
them from the job's log and fail on any ESCAPED (or on a missing line).
"""
import ctypes, os, socket, subprocess, sys, time

args = sys.argv[1:]
mode = args[0]
targets, port, token = {}, None, "hostile"
for i, a in enumerate(args):
    if a == "--target": name, _, path = args[i + 1].partition("="); targets[name] = path
    if a == "--port": port = int(args[i + 1])
    if a == "--token": token = args[i + 1]


def report(name, escaped, detail=""):
    detail = " ".join(str(detail).split())
    print(f"ATTEMPT {name} {'ESCAPED' if escaped else 'blocked'} {detail}".strip(), flush=True)


def try_read(name, path):
    try:
        if os.path.isdir(path):
            report(name, True, f"listed {len(os.listdir(path))} entries of {path}")
        else:
            with open(path, "rb") as f: report(name, True, f"read {len(f.read())} bytes of {path}")
    except OSError as e:
        report(name, False, f"{path}: {e.strerror}")


def try_write(name, path):
    try:
        with open(path, "a") as f: f.write("hostile was here\n")
        report(name, True, f"wrote {path}")
    except OSError as e:
        report(name, False, f"{path}: {e.strerror}")


def escapes():
    status = open("/proc/self/status").read()
    cap = [l.split()[1] for l in status.splitlines() if l.startswith("CapEff:")][0]
    report("capabilities", int(cap, 16) != 0, f"CapEff {cap}")
    report("root-user", os.getuid() == 0 or os.geteuid() == 0, f"uid {os.getuid()}")
    try_read("read-shadow", "/etc/shadow")
    try_read("list-root", "/root/.ssh")
    try_read("list-home", "/home")
    for name, path in sorted(targets.items()):
        if name == "agent-pid": continue
        (try_write if name.startswith("write") else try_read)(name, path)
    try_write("write-usr", "/usr/hostile")
    libc = ctypes.CDLL(None, use_errno=True)
    rc = libc.mount(None, b"/", None, 32, None)  # MS_REMOUNT, read-write
    rc2 = libc.mount(None, b"/usr", None, 32 | 4096, None)  # MS_REMOUNT | MS_BIND, read-write
    err = ctypes.get_errno()
    report("remount", rc == 0 or rc2 == 0, f"mount(2) remount: errno {err} {os.strerror(err)}")
    try:
        r = subprocess.run(["mount", "-o", "remount,rw", "/"], capture_output=True, text=True)
        report("remount-command", r.returncode == 0, (r.stderr or r.stdout).strip()[:120])
    except OSError as e:
        report("remount-command", False, e.strerror)
    for pid in sorted({"1", targets.get("agent-pid", "1")}):
        try:
            fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
            rc = libc.setns(fd, 0x40000000)  # CLONE_NEWNET
            err = ctypes.get_errno()
            report(f"setns-{pid}", rc == 0, f"errno {err} {os.strerror(err)}")
        except OSError as e:
            report(f"setns-{pid}", False, f"/proc/{pid}/ns/net: {e.strerror}")
    if port:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=3).close()
            report("connect-agent", True, f"connected to 127.0.0.1:{port}")
        except OSError as e:
            report("connect-agent", False, f"127.0.0.1:{port}: {e.strerror or e}")


def fork_bomb():
    children = []
    try:
        for _ in range(1000):
            pid = os.fork()
            if pid == 0:
                time.sleep(60); os._exit(0)
            children.append(pid)
    except OSError as e:
        report("fork-1000", len(children) >= 1000, f"started {len(children)} processes, then: {e.strerror}")
    else:
        report("fork-1000", True, f"started {len(children)} processes")
    for pid in children: os.kill(pid, 9)


def memory():
    size = int(targets.get("bytes-per-child", str(200 << 20)))
    children = []
    for _ in range(4):
        pid = os.fork()
        if pid == 0:
            block = bytearray(size)
            for i in range(0, size, 4096): block[i] = 1
            time.sleep(3); os._exit(0)
        children.append(pid)
    finished = 0
    for pid in children:
        _, status = os.waitpid(pid, 0)
        finished += os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    report("memory-4-children", finished == 4, f"{finished} of 4 children held {size >> 20} MiB each to the end")


def daemon():
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", token], start_new_session=True,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    report("daemon", False, "started a setsid daemon; the test checks it is gone")


def flood():
    line = b"x" * 1023 + b"\n"
    chunk = line * 1024
    for _ in range(200): sys.stdout.buffer.write(chunk)
    sys.stdout.flush()


{"escapes": escapes, "fork": fork_bomb, "memory": memory, "daemon": daemon, "print": flood}[mode]()
if mode == "daemon": time.sleep(0.5)
