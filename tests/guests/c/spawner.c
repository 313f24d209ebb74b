/*
 * spawner: a guest that starts other programs through the vkernel's process
 * extension (import module "recompiler_process_v1"), as a shell or a
 * `subprocess` layer would: spawn with argv, env, cwd and an fd map; pipes;
 * wait; dup and dup2; kill. Every spawn passes the exec gate.
 *
 * It runs the programs of the vkernel's test bundle (/usr/bin/rust_echo,
 * /usr/bin/stdio_filter) and prints one deterministic line per check.
 *
 * Modes (argv[1]):
 *   (none)       every check; needs a 0755 placeholder file /workspace/tool
 *                (the test creates it: WASI cannot set file modes)
 *   spawn PATH   spawns PATH with its own stdio, prints how it ended
 *   limit        spawns children until the process table is full (EAGAIN)
 *   orphan       spawns a child and exits without waiting for it
 *   orphan-inherit  the same, the child reading this process's stdin
 *
 * The import module exists only under the vkernel: the native build (and a
 * plain WASI runtime, which cannot link it) only prints a note.
 */
#include <stdio.h>

#ifndef __wasm__

int main(void) {
    puts("spawner: needs the vkernel's recompiler_process_v1");
    return 0;
}

#else

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the process extension (docs/recompiler-container-plan/process-extension.md) ---- */

#define PX(name) __attribute__((import_module("recompiler_process_v1"), import_name(#name)))

typedef struct {
    const char *ptr;
    uint32_t len;
} px_str;

typedef struct {
    uint32_t child_fd;
    uint32_t parent_fd;
} px_fdmap;

#define PX_SPAWN_INHERIT_ENV 1u
#define PX_WNOHANG 1u

PX(spawn)
int32_t px_spawn(const char *path, uint32_t path_len, const px_str *argv, uint32_t argc,
                 const px_str *env, uint32_t envc, const char *cwd, uint32_t cwd_len,
                 const px_fdmap *fdmap, uint32_t fdmap_count, uint32_t flags, uint32_t *pid_out);
PX(wait)
int32_t px_wait(int32_t pid, uint32_t options, int32_t *status_out, uint32_t *pid_out);
PX(pipe) int32_t px_pipe(uint32_t fds_out[2]);
PX(dup) int32_t px_dup(uint32_t fd, uint32_t *newfd_out);
PX(dup2) int32_t px_dup2(uint32_t fd, uint32_t newfd);
PX(getpid) int32_t px_getpid(uint32_t *pid_out);
PX(getppid) int32_t px_getppid(uint32_t *pid_out);
PX(kill) int32_t px_kill(int32_t pid, int32_t sig);

/* ---- helpers ---- */

static const char *errname(int e) {
    switch (e) {
    case 0: return "OK";
    case EACCES: return "EACCES";
    case ENOENT: return "ENOENT";
    case ECHILD: return "ECHILD";
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case EINVAL: return "EINVAL";
    case ENOTDIR: return "ENOTDIR";
    case ENOSYS: return "ENOSYS";
    case ESRCH: return "ESRCH";
    default: return "E?";
    }
}

static int failures = 0;

static void check(int ok, const char *what) {
    if (!ok) {
        printf("FAILED: %s\n", what);
        failures++;
    }
}

/* A NULL-terminated list of C strings as px_str pairs (at most 16). */
static uint32_t strs(const char *const *list, px_str out[16]) {
    uint32_t n = 0;
    for (; list != NULL && list[n] != NULL && n < 16; n++) {
        out[n].ptr = list[n];
        out[n].len = (uint32_t)strlen(list[n]);
    }
    return n;
}

/* Spawns `path`; env NULL inherits the caller's. Returns the errno (0: *pid set). */
static int spawn(const char *path, const char *const *argv, const char *const *env,
                 const char *cwd, const px_fdmap *map, uint32_t nmap, uint32_t *pid) {
    px_str a[16], e[16];
    uint32_t argc = strs(argv, a);
    uint32_t envc = strs(env, e);
    uint32_t flags = env == NULL ? PX_SPAWN_INHERIT_ENV : 0;
    return px_spawn(path, (uint32_t)strlen(path), a, argc, e, envc, cwd,
                    cwd ? (uint32_t)strlen(cwd) : 0, map, nmap, flags, pid);
}

static void make_pipe(uint32_t fds[2]) {
    int e = px_pipe(fds);
    check(e == 0, "pipe");
}

/* Reads `fd` to its end into a static buffer (NUL-terminated). */
static const char *read_all(int fd) {
    static char buf[8192];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0) {
            check(n == 0, "read to end of file");
            break;
        }
        len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

/* Prints `text` line by line, each with `prefix`. */
static void print_lines(const char *prefix, const char *text) {
    while (*text) {
        const char *nl = strchr(text, '\n');
        int n = nl ? (int)(nl - text) : (int)strlen(text);
        printf("%s%.*s\n", prefix, n, text);
        text += n + (nl ? 1 : 0);
    }
}

/* "exited N" or "signaled N", from a Linux wait status. */
static const char *describe(int32_t status) {
    static char buf[32];
    if ((status & 0x7f) == 0) {
        snprintf(buf, sizeof buf, "exited %d", (status >> 8) & 0xff);
    } else {
        snprintf(buf, sizeof buf, "signaled %d", status & 0x7f);
    }
    return buf;
}

/* Waits for `pid`; returns its status description. */
static const char *wait_for(uint32_t pid) {
    int32_t status = -1;
    uint32_t got = 0;
    int e = px_wait((int32_t)pid, 0, &status, &got);
    check(e == 0 && got == pid, "wait for the child");
    return describe(status);
}

/* ---- the checks ---- */

static void ids(void) {
    uint32_t pid = 0, ppid = 99;
    check(px_getpid(&pid) == 0 && px_getppid(&ppid) == 0, "getpid, getppid");
    printf("ids: pid=%u ppid=%u\n", pid, ppid);
}

/* argv, env and an fd map; stdin written and stdout read through pipes. */
static void echo(void) {
    uint32_t in[2], out[2], pid;
    make_pipe(in);
    make_pipe(out);
    px_fdmap map[] = {{0, in[0]}, {1, out[1]}, {2, out[1]}};
    const char *argv[] = {"echo", "a b", "c", NULL};
    const char *env[] = {"RUST_ECHO_X=1", "OTHER=2", NULL};
    int e = spawn("/usr/bin/rust_echo", argv, env, "/workspace", map, 3, &pid);
    printf("echo: spawn %s\n", errname(e));
    close((int)in[0]);
    close((int)out[1]);
    const char *input = "hello\nworld\n";
    check(write((int)in[1], input, strlen(input)) == (ssize_t)strlen(input), "write stdin");
    close((int)in[1]);
    print_lines("echo| ", read_all((int)out[0]));
    close((int)out[0]);
    printf("echo: %s\n", wait_for(pid));
}

/* A relative path, resolved from the child's cwd; a non-zero exit. */
static void relative(void) {
    uint32_t in[2], out[2], pid;
    make_pipe(in);
    make_pipe(out);
    px_fdmap map[] = {{0, in[0]}, {1, out[1]}, {2, out[1]}};
    const char *argv[] = {"filter", NULL};
    const char *env[] = {NULL};
    int e = spawn("stdio_filter", argv, env, "/usr/bin", map, 3, &pid);
    printf("relative: spawn %s\n", errname(e));
    close((int)in[0]);
    close((int)out[1]);
    check(write((int)in[1], "one\nfail\n", 9) == 9, "write stdin");
    close((int)in[1]);
    print_lines("relative| ", read_all((int)out[0]));
    close((int)out[0]);
    printf("relative: %s\n", wait_for(pid));
}

/* rust_echo x yz | stdio_filter: two children joined by a pipe. */
static void pipeline(void) {
    uint32_t empty[2], mid[2], out[2], a, b;
    make_pipe(empty);
    make_pipe(mid);
    make_pipe(out);
    close((int)empty[1]);
    px_fdmap map_a[] = {{0, empty[0]}, {1, mid[1]}, {2, mid[1]}};
    px_fdmap map_b[] = {{0, mid[0]}, {1, out[1]}, {2, out[1]}};
    const char *argv_a[] = {"rust_echo", "x", "yz", NULL};
    const char *argv_b[] = {"stdio_filter", NULL};
    const char *env[] = {NULL};
    int ea = spawn("/usr/bin/rust_echo", argv_a, env, NULL, map_a, 3, &a);
    int eb = spawn("/usr/bin/stdio_filter", argv_b, env, NULL, map_b, 3, &b);
    printf("pipeline: spawn %s %s\n", errname(ea), errname(eb));
    close((int)empty[0]);
    close((int)mid[0]);
    close((int)mid[1]);
    close((int)out[1]);
    print_lines("pipeline| ", read_all((int)out[0]));
    close((int)out[0]);
    /* Both, in whatever order they end. */
    char ends[2][32];
    for (int i = 0; i < 2; i++) {
        int32_t status;
        uint32_t pid;
        int e = px_wait(-1, 0, &status, &pid);
        check(e == 0 && (pid == a || pid == b), "wait any");
        snprintf(ends[pid == a ? 0 : 1], sizeof ends[0], "%s", describe(status));
    }
    printf("pipeline: rust_echo %s, stdio_filter %s\n", ends[0], ends[1]);
}

/* Exit statuses: a code, and a trap (a Rust panic aborts) as SIGABRT. */
static void statuses(void) {
    const char *exit7[] = {"rust_echo", "--exit", "7", NULL};
    const char *panic[] = {"rust_echo", "--panic", NULL};
    const char *const *argvs[] = {exit7, panic};
    for (int i = 0; i < 2; i++) {
        uint32_t out[2], pid;
        make_pipe(out);
        px_fdmap map[] = {{1, out[1]}, {2, out[1]}};
        const char *env[] = {NULL};
        int e = spawn("/usr/bin/rust_echo", argvs[i], env, NULL, map, 2, &pid);
        close((int)out[1]);
        read_all((int)out[0]);
        close((int)out[0]);
        printf("status %s: spawn %s, %s\n", argvs[i][1], errname(e), wait_for(pid));
    }
}

/* wait with WNOHANG while the child runs; kill; wait without children. */
static void wait_and_kill(void) {
    uint32_t in[2], pid;
    int32_t status = -1;
    uint32_t got = 99;
    make_pipe(in);
    px_fdmap map[] = {{0, in[0]}};
    const char *argv[] = {"stdio_filter", NULL};
    const char *env[] = {NULL};
    int e = spawn("/usr/bin/stdio_filter", argv, env, NULL, map, 1, &pid);
    close((int)in[0]);
    e = e ? e : px_wait((int32_t)pid, PX_WNOHANG, &status, &got);
    printf("wnohang: %s pid=%u\n", errname(e), got);
    printf("kill: %s\n", errname(px_kill((int32_t)pid, 15)));
    printf("killed: %s\n", wait_for(pid));
    close((int)in[1]);
    e = px_wait(-1, 0, &status, &got);
    printf("wait without children: %s\n", errname(e));
    printf("kill a reaped child: %s\n", errname(px_kill((int32_t)pid, 15)));
}

/* Copies of programs and missing files are refused. */
static void denied(void) {
    static char bytes[1 << 20];
    int fd = open("/usr/bin/rust_echo", O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, bytes, sizeof bytes) : -1;
    close(fd);
    check(n > 0 && n < (ssize_t)sizeof bytes, "read /usr/bin/rust_echo");

    /* A new file: mode 0644 (WASI cannot set modes), not executable. */
    fd = open("/workspace/copy", O_WRONLY | O_CREAT | O_TRUNC, 0755);
    check(fd >= 0 && write(fd, bytes, (size_t)n) == n, "write /workspace/copy");
    close(fd);
    /* Into an executable file: the bytes of a listed program at an unlisted path. */
    fd = open("/workspace/tool", O_WRONLY | O_TRUNC);
    check(fd >= 0 && write(fd, bytes, (size_t)n) == n, "write /workspace/tool");
    close(fd);
    /* A listed program changed in place. */
    fd = open("/usr/bin/stdio_filter", O_WRONLY | O_APPEND);
    check(fd >= 0 && write(fd, "\0", 1) == 1, "append to /usr/bin/stdio_filter");
    close(fd);

    const char *paths[] = {"/workspace/copy", "/workspace/tool", "/usr/bin/stdio_filter",
                           "/usr/bin/nope", "/usr/bin", NULL};
    for (int i = 0; paths[i] != NULL; i++) {
        uint32_t pid = 0;
        const char *env[] = {NULL};
        int e = spawn(paths[i], NULL, env, NULL, NULL, 0, &pid);
        printf("denied %s: %s\n", paths[i], errname(e));
        if (e == 0) {
            printf("denied %s ran: %s\n", paths[i], wait_for(pid));
        }
    }
    uint32_t pid;
    const char *env[] = {NULL};
    int e = spawn("/usr/bin/rust_echo", NULL, env, "/nowhere", NULL, 0, &pid);
    printf("cwd /nowhere: %s\n", errname(e));
}

/* dup and dup2 on pipes, and a child inheriting a redirected stdout. */
static void dups(void) {
    uint32_t p[2], d;
    make_pipe(p);
    int e = px_dup(p[1], &d);
    check(e == 0 && d != p[1], "dup");
    check(write((int)d, "via dup\n", 8) == 8, "write through the dup");
    close((int)d);
    close((int)p[1]);
    e = px_dup2(p[0], 20);
    close((int)p[0]);
    print_lines("dup2| ", read_all(20));
    close(20);
    printf("dup2 of a closed fd: %s\n", errname(px_dup2(99, 5)));
    printf("dup of a closed fd: %s\n", errname(px_dup(99, &d)));

    /* The shell's way: point fd 1 at a pipe, spawn with the default fds (0-2
     * inherited) and the inherited environment, put fd 1 back. */
    uint32_t out[2], saved, pid;
    make_pipe(out);
    fflush(stdout);
    check(px_dup(1, &saved) == 0 && px_dup2(out[1], 1) == 0, "redirect stdout");
    close((int)out[1]);
    const char *argv[] = {"rust_echo", "inherited", NULL};
    e = spawn("/usr/bin/rust_echo", argv, NULL, NULL, NULL, 0, &pid);
    check(px_dup2(saved, 1) == 0, "restore stdout");
    close((int)saved);
    printf("inherit: spawn %s\n", errname(e));
    print_lines("inherit| ", read_all((int)out[0]));
    close((int)out[0]);
    printf("inherit: %s\n", wait_for(pid));
}

/* Children until the process table is full; then all of them reaped. */
static int limit(void) {
    uint32_t in[2], pids[64];
    int n = 0, e = 0;
    make_pipe(in);
    px_fdmap map[] = {{0, in[0]}};
    const char *argv[] = {"stdio_filter", NULL};
    const char *env[] = {NULL};
    while (n < 64 && (e = spawn("/usr/bin/stdio_filter", argv, env, NULL, map, 1, &pids[n])) == 0) {
        n++;
    }
    printf("limit: %d children, then %s\n", n, errname(e));
    close((int)in[0]);
    close((int)in[1]);
    for (int i = 0; i < n; i++) {
        wait_for(pids[i]);
    }
    printf("limit: reaped %d\n", n);
    return 0;
}

/* A child left running: with its own pipe, it sees end of file once this
 * process has exited; inheriting this one's stdin, it reads that. */
static int orphan(int inherit) {
    uint32_t in[2], pid;
    make_pipe(in);
    px_fdmap map[] = {{0, in[0]}};
    const char *argv[] = {"stdio_filter", NULL};
    const char *env[] = {NULL};
    int e = spawn("/usr/bin/stdio_filter", argv, env, NULL, map, inherit ? 0 : 1, &pid);
    printf("orphan: spawn %s\n", errname(e));
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "spawn") == 0) {
        uint32_t pid;
        int e = spawn(argv[2], NULL, NULL, NULL, NULL, 0, &pid);
        printf("spawn %s: %s\n", argv[2], errname(e));
        if (e == 0) {
            printf("spawn %s: %s\n", argv[2], wait_for(pid));
        }
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "limit") == 0) {
        return limit();
    }
    if (argc == 2 && strcmp(argv[1], "orphan") == 0) {
        return orphan(0);
    }
    if (argc == 2 && strcmp(argv[1], "orphan-inherit") == 0) {
        return orphan(1);
    }
    ids();
    echo();
    relative();
    pipeline();
    statuses();
    wait_and_kill();
    dups();
    denied();
    printf("done: %d failures\n", failures);
    return failures == 0 ? 0 : 1;
}

#endif
