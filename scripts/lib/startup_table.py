"""Start-up times for the demo's table: N runs of each command through the
vkernel daemon's socket (a `run` request timed from sending the line to reading
the reply) and N native spawns (fork+exec+wait by subprocess), medians in ms.

Usage: startup_table.py SOCKET CID N AGENT_TOOL_NATIVE
"""
import base64, json, socket, statistics, subprocess, sys, time

sock_path, cid, n, native_tool = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_UNIX)
s.connect(sock_path)
f = s.makefile("rwb")


def through_socket(argv):
    req = {"type": "run", "cid": cid, "path": argv[0], "argv": argv}
    times, daemon = [], []
    for _ in range(n):
        t = time.perf_counter()
        f.write(json.dumps(req).encode() + b"\n")
        f.flush()
        reply = json.loads(f.readline())
        times.append(time.perf_counter() - t)
        if reply.get("status") != "ok" or reply.get("exit_code") != 0:
            sys.exit(f"{argv}: {reply}")
        daemon.append(reply["timings"]["total_us"] / 1000)
    return statistics.median(times) * 1000, statistics.median(daemon), base64.b64decode(reply["stdout"])


def native(argv):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        out = subprocess.run(argv, capture_output=True, check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000, out.stdout


rows = [
    ("agent-tool --version", ["/usr/bin/agent-tool", "--version"], [native_tool, "--version"]),
    ("python3 -c 'print(1)'", ["/usr/bin/python3", "-c", "print(1)"], ["python3", "-S", "-c", "print(1)"]),
]
print(f"  {n} runs each, medians; native python3 is Debian's with -S")
print(f"  {'command':<24} {'vkernel socket':>15} {'in the daemon':>14} {'native spawn':>13}  output")
for name, ours, theirs in rows:
    sock_ms, daemon_ms, out = through_socket(ours)
    nat_ms, nat_out = native(theirs)
    print(f"  {name:<24} {sock_ms:>12.2f} ms {daemon_ms:>11.2f} ms {nat_ms:>10.2f} ms  {out.decode().strip()!r}")
