/*
 * wasi_conf [CASE|all]: the C half of the WASI preview1 conformance suite.
 *
 * Calls preview1 functions directly (the `__wasi_*` functions of wasi-libc's
 * <wasi/api.h>) and through wasi-libc, on the fixture tree that
 * crates/vkernel/tests/all/conformance.rs builds under /fixture, and prints one
 * line per check: `CASE: WHAT -> ok ...` or `CASE: WHAT -> errno N NAME`. The
 * test runs it under plain wasmtime-wasi and under the vkernel and compares the
 * lines. Only properties that both must agree on are printed: no inode
 * numbers, fixture timestamps, random bytes or fd numbers.
 *
 * It writes only under /fixture/scratch. fd 3 is the root preopen (`/`) in
 * both runtimes; the `prestat` case checks that.
 *
 * `wasi_conf bad` prints how many invalid-argument calls there are and
 * `wasi_conf bad N` makes call N alone (see BAD_CALLS: they end the guest under
 * wasmtime-wasi).
 *
 * Exit status: 0 after the cases ran (a failing call is a printed line, not an
 * exit status), 2 for an unknown case name (with the usage on stdout).
 *
 * Natively (build.rs compiles every C guest for the host too) it only says
 * that it is a WASI program: the raw preview1 calls have no native meaning.
 */
#include <stdio.h>

#ifndef __wasi__

int main(void) {
    fputs("wasi_conf: a WASI preview1 program; nothing to do natively\n", stderr);
    return 0;
}

#else

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

/* The root preopen. */
#define ROOT 3
/* An fd number nothing uses. */
#define NOFD 77

#define RIGHTS_ALL ((__wasi_rights_t)0x1fffffff)
/* What wasmtime-wasi reads as "opened for writing"; the rest is read-only. */
#define RIGHTS_WRITING                                                          \
    (__WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_DATASYNC |                       \
     __WASI_RIGHTS_FD_ALLOCATE | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE)
#define RIGHTS_RO (RIGHTS_ALL & ~RIGHTS_WRITING)

static const char *const ERRNO_NAMES[] = {
    "SUCCESS", "2BIG", "ACCES", "ADDRINUSE", "ADDRNOTAVAIL", "AFNOSUPPORT",
    "AGAIN", "ALREADY", "BADF", "BADMSG", "BUSY", "CANCELED", "CHILD",
    "CONNABORTED", "CONNREFUSED", "CONNRESET", "DEADLK", "DESTADDRREQ", "DOM",
    "DQUOT", "EXIST", "FAULT", "FBIG", "HOSTUNREACH", "IDRM", "ILSEQ",
    "INPROGRESS", "INTR", "INVAL", "IO", "ISCONN", "ISDIR", "LOOP", "MFILE",
    "MLINK", "MSGSIZE", "MULTIHOP", "NAMETOOLONG", "NETDOWN", "NETRESET",
    "NETUNREACH", "NFILE", "NOBUFS", "NODEV", "NOENT", "NOEXEC", "NOLCK",
    "NOLINK", "NOMEM", "NOMSG", "NOPROTOOPT", "NOSPC", "NOSYS", "NOTCONN",
    "NOTDIR", "NOTEMPTY", "NOTRECOVERABLE", "NOTSOCK", "NOTSUP", "NOTTY",
    "NXIO", "OVERFLOW", "OWNERDEAD", "PERM", "PIPE", "PROTO", "PROTONOSUPPORT",
    "PROTOTYPE", "RANGE", "ROFS", "SPIPE", "SRCH", "STALE", "TIMEDOUT",
    "TXTBSY", "XDEV", "NOTCAPABLE",
};

static const char *errno_name(unsigned e) {
    return e < sizeof ERRNO_NAMES / sizeof ERRNO_NAMES[0] ? ERRNO_NAMES[e] : "?";
}

static const char *current_case = "";

/* Prints `CASE: WHAT -> ok` or `CASE: WHAT -> errno N NAME`; returns e. */
static __wasi_errno_t say(const char *what, __wasi_errno_t e) {
    if (e == 0) {
        printf("%s: %s -> ok\n", current_case, what);
    } else {
        printf("%s: %s -> errno %u %s\n", current_case, what, (unsigned)e,
               errno_name(e));
    }
    return e;
}

/* For calls that set up a check rather than being one: a failure is printed
 * with the source line (the same in both runs), success prints nothing. */
#define MUST(call) must((call), __LINE__)
static void must(__wasi_errno_t e, int line) {
    if (e != 0) {
        printf("%s: unexpected errno %u %s at line %d\n", current_case, (unsigned)e,
               errno_name(e), line);
    }
}

/* Prints `CASE: WHAT -> ok DETAIL` (DETAIL printf-formatted). */
static void say_ok(const char *what, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say_ok(const char *what, const char *fmt, ...) {
    printf("%s: %s -> ok ", current_case, what);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

/* path_open beneath ROOT; -1 (and the line printed) on failure. */
static __wasi_fd_t open_path(const char *what, __wasi_lookupflags_t lookup,
                             const char *path, __wasi_oflags_t oflags,
                             __wasi_rights_t rights, __wasi_fdflags_t fdflags) {
    __wasi_fd_t fd = 0;
    __wasi_errno_t e =
        __wasi_path_open(ROOT, lookup, path, oflags, rights, RIGHTS_ALL, fdflags, &fd);
    if (what != NULL) {
        say(what, e);
    }
    return e == 0 ? (int)fd : -1;
}

static __wasi_fd_t open_ro(const char *path) {
    return open_path(NULL, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, 0, RIGHTS_RO, 0);
}

static __wasi_fd_t open_rw(const char *path, __wasi_oflags_t oflags) {
    return open_path(NULL, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, oflags,
                     RIGHTS_ALL, 0);
}

static void close_fd(__wasi_fd_t fd) {
    if ((int)fd >= 0 && __wasi_fd_close(fd) != 0) {
        printf("%s: close failed\n", current_case);
    }
}

/* Writes all of `len` bytes with fd_write, however many calls it takes
 * (wasmtime-wasi writes only the first non-empty iovec per call). */
static __wasi_errno_t write_all(__wasi_fd_t fd, const char *data, size_t len) {
    while (len > 0) {
        __wasi_ciovec_t iov = {(const uint8_t *)data, len};
        __wasi_size_t n = 0;
        __wasi_errno_t e = __wasi_fd_write(fd, &iov, 1, &n);
        if (e != 0) {
            return e;
        }
        if (n == 0) {
            return __WASI_ERRNO_IO;
        }
        data += n;
        len -= n;
    }
    return 0;
}

/* Reads until end of file into buf (NUL-terminated); the byte count in *got. */
static __wasi_errno_t read_all(__wasi_fd_t fd, char *buf, size_t cap, size_t *got) {
    *got = 0;
    while (*got + 1 < cap) {
        __wasi_iovec_t iov = {(uint8_t *)buf + *got, cap - 1 - *got};
        __wasi_size_t n = 0;
        __wasi_errno_t e = __wasi_fd_read(fd, &iov, 1, &n);
        if (e != 0) {
            buf[*got] = 0;
            return e;
        }
        if (n == 0) {
            break;
        }
        *got += n;
    }
    buf[*got] = 0;
    return 0;
}

/* A file's bytes printed safely: newlines as \n. */
static const char *shown(const char *s) {
    static char out[512];
    size_t j = 0;
    for (size_t i = 0; s[i] != 0 && j + 3 < sizeof out; i++) {
        if (s[i] == '\n') {
            out[j++] = '\\';
            out[j++] = 'n';
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = 0;
    return out;
}

static const char *filetype_name(__wasi_filetype_t t) {
    switch (t) {
    case __WASI_FILETYPE_UNKNOWN: return "unknown";
    case __WASI_FILETYPE_BLOCK_DEVICE: return "block";
    case __WASI_FILETYPE_CHARACTER_DEVICE: return "char";
    case __WASI_FILETYPE_DIRECTORY: return "dir";
    case __WASI_FILETYPE_REGULAR_FILE: return "file";
    case __WASI_FILETYPE_SOCKET_DGRAM: return "dgram";
    case __WASI_FILETYPE_SOCKET_STREAM: return "stream";
    case __WASI_FILETYPE_SYMBOLIC_LINK: return "symlink";
    default: return "?";
    }
}

/* ---- the cases ---- */

static void case_prestat(void) {
    __wasi_prestat_t p;
    if (say("fd_prestat_get root", __wasi_fd_prestat_get(ROOT, &p)) == 0) {
        say_ok("prestat of root", "tag %u name_len %u", p.tag,
               (unsigned)p.u.dir.pr_name_len);
        char name[16] = {0};
        __wasi_errno_t e = __wasi_fd_prestat_dir_name(ROOT, (uint8_t *)name,
                                                      p.u.dir.pr_name_len);
        if (say("fd_prestat_dir_name root", e) == 0) {
            say_ok("root name", "%s", name);
        }
    }
    say("fd_prestat_get stdin", __wasi_fd_prestat_get(0, &p));
    say("fd_prestat_get unused fd", __wasi_fd_prestat_get(NOFD, &p));
    char name[4];
    say("fd_prestat_dir_name unused fd",
        __wasi_fd_prestat_dir_name(NOFD, (uint8_t *)name, sizeof name));
    /* wasi-libc finds no preopen after the root: the scan stops at BADF. */
    say("fd_prestat_get fd 4", __wasi_fd_prestat_get(4, &p));
}

static void case_open(void) {
    const __wasi_lookupflags_t F = __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW;
    __wasi_fd_t fd = open_path("open file", F, "fixture/hello.txt", 0, RIGHTS_RO, 0);
    close_fd(fd);
    open_path("open missing", F, "fixture/missing", 0, RIGHTS_RO, 0);
    open_path("open missing parent", F, "fixture/nope/x", 0, RIGHTS_RO, 0);
    open_path("open file as directory", F, "fixture/hello.txt",
              __WASI_OFLAGS_DIRECTORY, RIGHTS_RO, 0);
    open_path("open through a file", F, "fixture/hello.txt/x", 0, RIGHTS_RO, 0);
    open_path("open file with trailing slash", F, "fixture/hello.txt/", 0,
              RIGHTS_RO, 0);
    open_path("create existing exclusive", F, "fixture/hello.txt",
              __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, RIGHTS_ALL, 0);
    open_path("create existing directory exclusive", F, "fixture/dir",
              __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, RIGHTS_ALL, 0);
    open_path("create in missing directory", F, "fixture/nope/new",
              __WASI_OFLAGS_CREAT, RIGHTS_ALL, 0);
    fd = open_path("open directory", F, "fixture/dir", __WASI_OFLAGS_DIRECTORY,
                   RIGHTS_RO, 0);
    close_fd(fd);
    fd = open_path("open directory without DIRECTORY", F, "fixture/dir", 0,
                   RIGHTS_RO, 0);
    close_fd(fd);
    open_path("open directory for writing", F, "fixture/dir", 0, RIGHTS_ALL, 0);
    open_path("truncate directory", F, "fixture/dir", __WASI_OFLAGS_TRUNC,
              RIGHTS_ALL, 0);
    open_path("open absolute path", F, "/fixture/hello.txt", 0, RIGHTS_RO, 0);
    open_path("open escaping with ..", F, "../fixture/hello.txt", 0, RIGHTS_RO, 0);
    open_path("open escaping below", F, "fixture/../../etc", 0, RIGHTS_RO, 0);
    fd = open_path("open with .. inside", F, "fixture/dir/../hello.txt", 0,
                   RIGHTS_RO, 0);
    close_fd(fd);
    open_path("open empty path", F, "", 0, RIGHTS_RO, 0);
    fd = open_path("open dot", F, ".", __WASI_OFLAGS_DIRECTORY, RIGHTS_RO, 0);
    close_fd(fd);
    fd = open_path("open symlink followed", F, "fixture/link", 0, RIGHTS_RO, 0);
    if ((int)fd >= 0) {
        char buf[64];
        size_t got;
        if (say("read through symlink", read_all(fd, buf, sizeof buf, &got)) == 0) {
            say_ok("symlink content", "%s", shown(buf));
        }
        close_fd(fd);
    }
    open_path("open symlink not followed", 0, "fixture/link", 0, RIGHTS_RO, 0);
    fd = open_path("open directory symlink followed", F, "fixture/dirlink",
                   __WASI_OFLAGS_DIRECTORY, RIGHTS_RO, 0);
    close_fd(fd);
    fd = open_path("open through directory symlink", 0, "fixture/dirlink/a.txt",
                   0, RIGHTS_RO, 0);
    close_fd(fd);
    open_path("open dangling symlink", F, "fixture/dangling", 0, RIGHTS_RO, 0);
    open_path("open symlink loop", F, "fixture/loop", 0, RIGHTS_RO, 0);
    open_path("open escaping symlink", F, "fixture/escape", 0, RIGHTS_RO, 0);
    open_path("open missing top-level name", F, "x", 0, RIGHTS_RO, 0);
    __wasi_fd_t out;
    say("path_open on unused fd",
        __wasi_path_open(NOFD, F, "x", 0, RIGHTS_RO, RIGHTS_ALL, 0, &out));
    fd = open_ro("fixture/hello.txt");
    say("path_open relative to a file",
        __wasi_path_open(fd, F, "x", 0, RIGHTS_RO, RIGHTS_ALL, 0, &out));
    close_fd(fd);
    fd = open_path("create new", F, "fixture/scratch/new.txt",
                   __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, RIGHTS_ALL, 0);
    if ((int)fd >= 0) {
        say("write new", write_all(fd, "new\n", 4));
        close_fd(fd);
    }
    fd = open_path("truncate", F, "fixture/scratch/new.txt", __WASI_OFLAGS_TRUNC,
                   RIGHTS_ALL, 0);
    if ((int)fd >= 0) {
        __wasi_filestat_t st;
        if (say("fd_filestat_get truncated", __wasi_fd_filestat_get(fd, &st)) == 0) {
            say_ok("truncated size", "%llu", (unsigned long long)st.size);
        }
        close_fd(fd);
    }
    fd = open_path("open read-only for writing", F, "fixture/hello.txt", 0,
                   RIGHTS_RO, 0);
    if ((int)fd >= 0) {
        __wasi_ciovec_t iov = {(const uint8_t *)"x", 1};
        __wasi_size_t n;
        say("fd_write on read-only fd", __wasi_fd_write(fd, &iov, 1, &n));
        close_fd(fd);
    }
}

static void case_rw(void) {
    __wasi_fd_t fd = open_path("create", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
                               "fixture/scratch/rw.txt", __WASI_OFLAGS_CREAT,
                               RIGHTS_ALL, 0);
    if ((int)fd < 0) {
        return;
    }
    /* Two iovecs: wasmtime-wasi writes the first only, the vkernel both; the
     * property both share is that the first was written whole. */
    __wasi_ciovec_t iovs[2] = {{(const uint8_t *)"0123456789", 10},
                               {(const uint8_t *)"abcdef", 6}};
    __wasi_size_t n = 0;
    if (say("fd_write two iovecs", __wasi_fd_write(fd, iovs, 2, &n)) == 0) {
        say_ok("wrote at least the first iovec", "%s", n >= 10 ? "yes" : "no");
        __wasi_filesize_t pos;
        MUST(__wasi_fd_seek(fd, 10, __WASI_WHENCE_SET, &pos));
        say("write the rest", write_all(fd, "abcdef", 6));
    }
    __wasi_filesize_t pos = 99;
    if (say("fd_tell after writes", __wasi_fd_tell(fd, &pos)) == 0) {
        say_ok("position", "%llu", (unsigned long long)pos);
    }
    if (say("fd_seek SET 3", __wasi_fd_seek(fd, 3, __WASI_WHENCE_SET, &pos)) == 0) {
        say_ok("position", "%llu", (unsigned long long)pos);
    }
    char buf[64];
    __wasi_iovec_t riov[2] = {{(uint8_t *)buf, 4}, {(uint8_t *)buf + 4, 4}};
    if (say("fd_read two iovecs", __wasi_fd_read(fd, riov, 2, &n)) == 0) {
        buf[n] = 0;
        say_ok("read starts with", "%.4s (%s)", buf, n >= 4 ? "n>=4" : "short");
    }
    if (say("fd_seek CUR -2", __wasi_fd_seek(fd, -2, __WASI_WHENCE_CUR, &pos)) == 0) {
        __wasi_filesize_t told;
        MUST(__wasi_fd_tell(fd, &told));
        say_ok("position agrees with fd_tell", "%s", pos == told ? "yes" : "no");
    }
    if (say("fd_seek END -4", __wasi_fd_seek(fd, -4, __WASI_WHENCE_END, &pos)) == 0) {
        say_ok("position", "%llu", (unsigned long long)pos);
    }
    say("fd_seek before start", __wasi_fd_seek(fd, -100, __WASI_WHENCE_SET, &pos));
    if (say("fd_seek past end", __wasi_fd_seek(fd, 100, __WASI_WHENCE_SET, &pos)) == 0) {
        __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
        if (say("fd_read past end", __wasi_fd_read(fd, &iov, 1, &n)) == 0) {
            say_ok("bytes past end", "%u", (unsigned)n);
        }
    }
    MUST(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos));
    size_t got;
    if (say("read back", read_all(fd, buf, sizeof buf, &got)) == 0) {
        say_ok("content", "%s", buf);
    }
    /* pread/pwrite: positioned, and the file position stays. */
    MUST(__wasi_fd_seek(fd, 2, __WASI_WHENCE_SET, &pos));
    __wasi_ciovec_t piov = {(const uint8_t *)"XY", 2};
    if (say("fd_pwrite at 5", __wasi_fd_pwrite(fd, &piov, 1, 5, &n)) == 0) {
        say_ok("pwrote", "%u", (unsigned)n);
    }
    __wasi_iovec_t rp = {(uint8_t *)buf, 6};
    if (say("fd_pread at 4", __wasi_fd_pread(fd, &rp, 1, 4, &n)) == 0) {
        buf[n] = 0;
        say_ok("pread", "%s", buf);
    }
    if (say("fd_tell after pread/pwrite", __wasi_fd_tell(fd, &pos)) == 0) {
        say_ok("position", "%llu", (unsigned long long)pos);
    }
    if (say("fd_pread past end", __wasi_fd_pread(fd, &rp, 1, 1000, &n)) == 0) {
        say_ok("bytes", "%u", (unsigned)n);
    }
    if (say("fd_pwrite past end", __wasi_fd_pwrite(fd, &piov, 1, 30, &n)) == 0) {
        __wasi_filestat_t st;
        MUST(__wasi_fd_filestat_get(fd, &st));
        say_ok("size after hole", "%llu", (unsigned long long)st.size);
    }
    close_fd(fd);
    say("fd_read closed fd", __wasi_fd_read(fd, &rp, 1, &n));
    say("fd_pread unused fd", __wasi_fd_pread(NOFD, &rp, 1, 0, &n));
    say("fd_pwrite unused fd", __wasi_fd_pwrite(NOFD, &piov, 1, 0, &n));
    say("fd_write unused fd", __wasi_fd_write(NOFD, &piov, 1, &n));
    say("fd_tell unused fd", __wasi_fd_tell(NOFD, &pos));
    say("fd_seek unused fd", __wasi_fd_seek(NOFD, 0, __WASI_WHENCE_SET, &pos));

    /* Append mode: writes go to the end whatever the position. */
    fd = open_path("open append", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
                   "fixture/scratch/rw.txt", 0, RIGHTS_ALL, __WASI_FDFLAGS_APPEND);
    if ((int)fd >= 0) {
        MUST(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos));
        say("append write", write_all(fd, "END", 3));
        __wasi_filestat_t st;
        MUST(__wasi_fd_filestat_get(fd, &st));
        say_ok("size after append", "%llu", (unsigned long long)st.size);
        say("fd_pwrite on append fd", __wasi_fd_pwrite(fd, &piov, 1, 0, &n));
        close_fd(fd);
    }
    /* Directories and streams. */
    fd = open_path(NULL, 0, "fixture/dir", __WASI_OFLAGS_DIRECTORY, RIGHTS_RO, 0);
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
    say("fd_read on directory", __wasi_fd_read(fd, &iov, 1, &n));
    say("fd_seek on directory", __wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos));
    say("fd_tell on directory", __wasi_fd_tell(fd, &pos));
    say("fd_pread on directory", __wasi_fd_pread(fd, &iov, 1, 0, &n));
    close_fd(fd);
    say("fd_seek on stdin", __wasi_fd_seek(0, 0, __WASI_WHENCE_CUR, &pos));
    say("fd_tell on stdout", __wasi_fd_tell(1, &pos));
    say("fd_pread on stdin", __wasi_fd_pread(0, &iov, 1, 0, &n));
    if (say("fd_read stdin", __wasi_fd_read(0, &iov, 1, &n)) == 0) {
        buf[n] = 0;
        say_ok("stdin", "%s", shown(buf));
    }
}

static void print_filestat(const char *what, const __wasi_filestat_t *st) {
    say_ok(what, "type %s size %llu nlink %llu", filetype_name(st->filetype),
           (unsigned long long)st->size, (unsigned long long)st->nlink);
}

static void case_stat(void) {
    const __wasi_lookupflags_t F = __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW;
    __wasi_filestat_t st;
    __wasi_fd_t fd = open_ro("fixture/hello.txt");
    if (say("fd_filestat_get file", __wasi_fd_filestat_get(fd, &st)) == 0) {
        print_filestat("file", &st);
    }
    __wasi_filestat_t st2;
    if (say("path_filestat_get file", __wasi_path_filestat_get(ROOT, F, "fixture/hello.txt", &st2)) == 0) {
        say_ok("same inode and device as fd_filestat_get", "%s",
               st.ino == st2.ino && st.dev == st2.dev ? "yes" : "no");
    }
    close_fd(fd);
    if (say("path_filestat_get symlink followed",
            __wasi_path_filestat_get(ROOT, F, "fixture/link", &st)) == 0) {
        print_filestat("symlink followed", &st);
    }
    if (say("path_filestat_get symlink", __wasi_path_filestat_get(ROOT, 0, "fixture/link", &st)) == 0) {
        print_filestat("symlink", &st);
    }
    if (say("path_filestat_get dangling", __wasi_path_filestat_get(ROOT, 0, "fixture/dangling", &st)) == 0) {
        print_filestat("dangling", &st);
    }
    say("path_filestat_get dangling followed",
        __wasi_path_filestat_get(ROOT, F, "fixture/dangling", &st));
    if (say("path_filestat_get directory", __wasi_path_filestat_get(ROOT, F, "fixture/dir", &st)) == 0) {
        say_ok("directory", "type %s", filetype_name(st.filetype));
    }
    if (say("path_filestat_get empty file", __wasi_path_filestat_get(ROOT, F, "fixture/empty", &st)) == 0) {
        print_filestat("empty", &st);
    }
    say("path_filestat_get missing", __wasi_path_filestat_get(ROOT, F, "fixture/missing", &st));
    say("path_filestat_get through file",
        __wasi_path_filestat_get(ROOT, F, "fixture/hello.txt/x", &st));
    say("path_filestat_get absolute", __wasi_path_filestat_get(ROOT, F, "/fixture", &st));
    say("path_filestat_get unused fd", __wasi_path_filestat_get(NOFD, F, "fixture", &st));
    say("fd_filestat_get unused fd", __wasi_fd_filestat_get(NOFD, &st));
    if (say("fd_filestat_get root", __wasi_fd_filestat_get(ROOT, &st)) == 0) {
        say_ok("root", "type %s", filetype_name(st.filetype));
    }
    /* Through libc. */
    struct stat s;
    if (stat("/fixture/hello.txt", &s) == 0) {
        say_ok("stat hello.txt", "size %lld regular %d", (long long)s.st_size,
               S_ISREG(s.st_mode));
    } else {
        say_ok("stat hello.txt", "failed errno %d", errno);
    }
    if (lstat("/fixture/dirlink", &s) == 0) {
        say_ok("lstat dirlink", "symlink %d", S_ISLNK(s.st_mode));
    }
    say_ok("stat missing", "%d errno %d", stat("/fixture/missing", &s), errno);
    say_ok("access exec.sh", "%d", access("/fixture/exec.sh", R_OK));
}

static void case_times(void) {
    const __wasi_lookupflags_t F = __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW;
    __wasi_fd_t fd = open_rw("fixture/scratch/times.txt", __WASI_OFLAGS_CREAT);
    const __wasi_timestamp_t A = 1000000000123456789ull, M = 1200000000987654321ull;
    __wasi_filestat_t st;
    if (say("fd_filestat_set_times both",
            __wasi_fd_filestat_set_times(fd, A, M, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM)) == 0) {
        MUST(__wasi_fd_filestat_get(fd, &st));
        say_ok("times", "atim %llu mtim %llu", (unsigned long long)st.atim,
               (unsigned long long)st.mtim);
    }
    if (say("fd_filestat_set_times mtim only",
            __wasi_fd_filestat_set_times(fd, 0, A, __WASI_FSTFLAGS_MTIM)) == 0) {
        MUST(__wasi_fd_filestat_get(fd, &st));
        say_ok("times", "atim %llu mtim %llu", (unsigned long long)st.atim,
               (unsigned long long)st.mtim);
    }
    __wasi_timestamp_t now = 0;
    MUST(__wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &now));
    if (say("fd_filestat_set_times now",
            __wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_MTIM_NOW)) == 0) {
        MUST(__wasi_fd_filestat_get(fd, &st));
        long long d = (long long)(st.mtim / 1000000000ull) - (long long)(now / 1000000000ull);
        say_ok("mtim is now", "%s", d >= -5 && d <= 5 ? "yes" : "no");
        say_ok("atim kept", "%s", st.atim == A ? "yes" : "no");
    }
    say("fd_filestat_set_times atim and atim_now",
        __wasi_fd_filestat_set_times(fd, A, 0, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW));
    say("fd_filestat_set_times mtim and mtim_now",
        __wasi_fd_filestat_set_times(fd, 0, M, __WASI_FSTFLAGS_MTIM | __WASI_FSTFLAGS_MTIM_NOW));
    say("fd_filestat_set_times unused fd",
        __wasi_fd_filestat_set_times(NOFD, 0, 0, __WASI_FSTFLAGS_MTIM));
    close_fd(fd);
    if (say("path_filestat_set_times",
            __wasi_path_filestat_set_times(ROOT, F, "fixture/scratch/times.txt", M, A,
                                           __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM)) == 0) {
        MUST(__wasi_path_filestat_get(ROOT, F, "fixture/scratch/times.txt", &st));
        say_ok("times", "atim %llu mtim %llu", (unsigned long long)st.atim,
               (unsigned long long)st.mtim);
    }
    if (say("path_filestat_set_times directory",
            __wasi_path_filestat_set_times(ROOT, F, "fixture/scratch", M, M,
                                           __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM)) == 0) {
        MUST(__wasi_path_filestat_get(ROOT, F, "fixture/scratch", &st));
        say_ok("directory mtim", "%llu", (unsigned long long)st.mtim);
    }
    say("path_filestat_set_times missing",
        __wasi_path_filestat_set_times(ROOT, F, "fixture/missing", M, M, __WASI_FSTFLAGS_MTIM));
    say("path_filestat_set_times bad flags",
        __wasi_path_filestat_set_times(ROOT, F, "fixture/scratch/times.txt", 0, 0,
                                       __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW));
    say("path_filestat_set_times escaping",
        __wasi_path_filestat_set_times(ROOT, F, "../x", M, M, __WASI_FSTFLAGS_MTIM));
}

static void case_size(void) {
    __wasi_fd_t fd = open_rw("fixture/scratch/size.txt", __WASI_OFLAGS_CREAT);
    __wasi_filestat_t st;
    write_all(fd, "0123456789", 10);
    if (say("fd_filestat_set_size shrink", __wasi_fd_filestat_set_size(fd, 4)) == 0) {
        MUST(__wasi_fd_filestat_get(fd, &st));
        say_ok("size", "%llu", (unsigned long long)st.size);
    }
    if (say("fd_filestat_set_size grow", __wasi_fd_filestat_set_size(fd, 4096)) == 0) {
        MUST(__wasi_fd_filestat_get(fd, &st));
        say_ok("size", "%llu", (unsigned long long)st.size);
        char buf[8];
        __wasi_iovec_t iov = {(uint8_t *)buf, 2};
        __wasi_size_t n;
        MUST(__wasi_fd_pread(fd, &iov, 1, 100, &n));
        say_ok("grown bytes are zero", "%s", n == 2 && buf[0] == 0 && buf[1] == 0 ? "yes" : "no");
    }
    say("fd_filestat_set_size unused fd", __wasi_fd_filestat_set_size(NOFD, 0));
    close_fd(fd);
    fd = open_ro("fixture/scratch/size.txt");
    say("fd_filestat_set_size read-only", __wasi_fd_filestat_set_size(fd, 1));
    close_fd(fd);
    fd = open_path(NULL, 0, "fixture/dir", __WASI_OFLAGS_DIRECTORY, RIGHTS_RO, 0);
    say("fd_filestat_set_size directory", __wasi_fd_filestat_set_size(fd, 1));
    close_fd(fd);
    fd = open_rw("fixture/scratch/size.txt", 0);
    say("fd_allocate", __wasi_fd_allocate(fd, 0, 100));
    say("fd_allocate unused fd", __wasi_fd_allocate(NOFD, 0, 100));
    close_fd(fd);
}

static void print_fdstat(const char *what, __wasi_fd_t fd) {
    __wasi_fdstat_t s;
    __wasi_errno_t e = __wasi_fd_fdstat_get(fd, &s);
    if (e != 0) {
        say(what, e);
        return;
    }
    say_ok(what, "type %s flags %#x base %#llx inheriting %#llx",
           filetype_name(s.fs_filetype), s.fs_flags,
           (unsigned long long)s.fs_rights_base,
           (unsigned long long)s.fs_rights_inheriting);
}

static void case_fdstat(void) {
    print_fdstat("fd_fdstat_get root", ROOT);
    __wasi_fd_t fd = open_ro("fixture/hello.txt");
    print_fdstat("fd_fdstat_get read-only file", fd);
    close_fd(fd);
    fd = open_rw("fixture/scratch/fdstat.txt", __WASI_OFLAGS_CREAT);
    print_fdstat("fd_fdstat_get read-write file", fd);
    if (say("fd_fdstat_set_flags append", __wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_APPEND)) == 0) {
        print_fdstat("after set append", fd);
    }
    if (say("fd_fdstat_set_flags nonblock", __wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_NONBLOCK)) == 0) {
        print_fdstat("after set nonblock", fd);
    }
    say("fd_fdstat_set_flags none", __wasi_fd_fdstat_set_flags(fd, 0));
    close_fd(fd);
    fd = open_path(NULL, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "fixture/scratch/fdstat.txt",
                   0, RIGHTS_ALL, __WASI_FDFLAGS_APPEND);
    print_fdstat("fd_fdstat_get opened append", fd);
    close_fd(fd);
    fd = open_path(NULL, 0, "fixture/dir", __WASI_OFLAGS_DIRECTORY, RIGHTS_RO, 0);
    print_fdstat("fd_fdstat_get directory", fd);
    close_fd(fd);
    fd = open_path(NULL, 0, "fixture/hello.txt", 0, __WASI_RIGHTS_FD_READ, 0);
    print_fdstat("fd_fdstat_get opened with FD_READ only", fd);
    close_fd(fd);
    say("fd_fdstat_get unused fd", __wasi_fd_fdstat_get(NOFD, NULL));
    say("fd_fdstat_set_flags unused fd", __wasi_fd_fdstat_set_flags(NOFD, 0));
    say("fd_fdstat_set_rights unused fd", __wasi_fd_fdstat_set_rights(NOFD, 0, 0));
}

/* One directory entry, as collected from fd_readdir. */
struct entry {
    char name[64];
    __wasi_filetype_t type;
};

static int compare_entries(const void *a, const void *b) {
    return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/* Reads the whole directory fd with a buffer of `bufsize` bytes, resuming from
 * the cookies; returns the entry count, or -1 (after printing) on error. */
static int read_dir(__wasi_fd_t fd, size_t bufsize, struct entry *out, int max, int *calls) {
    uint8_t buf[512];
    __wasi_dircookie_t cookie = 0;
    int count = 0;
    *calls = 0;
    for (;;) {
        __wasi_size_t used = 0;
        __wasi_errno_t e = __wasi_fd_readdir(fd, buf, bufsize, cookie, &used);
        ++*calls;
        if (e != 0) {
            say("fd_readdir", e);
            return -1;
        }
        size_t at = 0;
        int whole = 0;
        while (at + sizeof(__wasi_dirent_t) <= used) {
            __wasi_dirent_t d;
            memcpy(&d, buf + at, sizeof d);
            if (at + sizeof d + d.d_namlen > used) {
                break;
            }
            if (count < max && d.d_namlen < sizeof out[count].name) {
                memcpy(out[count].name, buf + at + sizeof d, d.d_namlen);
                out[count].name[d.d_namlen] = 0;
                out[count].type = d.d_type;
                count++;
            }
            cookie = d.d_next;
            at += sizeof d + d.d_namlen;
            whole++;
        }
        if (used < bufsize) {
            return count;
        }
        if (whole == 0 || *calls > 100) {
            printf("%s: fd_readdir makes no progress with %zu bytes\n", current_case, bufsize);
            return -1;
        }
    }
}

static void print_dir(const char *what, const char *path, size_t bufsize) {
    __wasi_fd_t fd = open_path(NULL, 0, path, __WASI_OFLAGS_DIRECTORY, RIGHTS_RO, 0);
    struct entry entries[32];
    int calls;
    int n = read_dir(fd, bufsize, entries, 32, &calls);
    close_fd(fd);
    if (n < 0) {
        return;
    }
    qsort(entries, n, sizeof entries[0], compare_entries);
    printf("%s: %s -> %d entries:", current_case, what, n);
    for (int i = 0; i < n; i++) {
        printf(" %s(%s)", entries[i].name, filetype_name(entries[i].type));
    }
    putchar('\n');
}

static void case_readdir(void) {
    print_dir("fd_readdir fixture, big buffer", "fixture", 512);
    print_dir("fd_readdir fixture, 40-byte buffer", "fixture", 40);
    print_dir("fd_readdir dir", "fixture/dir", 512);
    print_dir("fd_readdir empty dir", "fixture/dir/sub", 512);
    __wasi_fd_t fd = open_path(NULL, 0, "fixture/dir", __WASI_OFLAGS_DIRECTORY, RIGHTS_RO, 0);
    uint8_t buf[256];
    __wasi_size_t used = 99;
    if (say("fd_readdir zero-length buffer", __wasi_fd_readdir(fd, buf, 0, 0, &used)) == 0) {
        say_ok("used", "%u", (unsigned)used);
    }
    if (say("fd_readdir 10-byte buffer", __wasi_fd_readdir(fd, buf, 10, 0, &used)) == 0) {
        say_ok("used", "%u", (unsigned)used);
    }
    /* Past the last entry: nothing. */
    MUST(__wasi_fd_readdir(fd, buf, sizeof buf, 0, &used));
    __wasi_dircookie_t last = 0;
    for (size_t at = 0; at + sizeof(__wasi_dirent_t) <= used;) {
        __wasi_dirent_t d;
        memcpy(&d, buf + at, sizeof d);
        last = d.d_next;
        at += sizeof d + d.d_namlen;
    }
    if (say("fd_readdir from the last cookie", __wasi_fd_readdir(fd, buf, sizeof buf, last, &used)) == 0) {
        say_ok("used", "%u", (unsigned)used);
    }
    close_fd(fd);
    fd = open_ro("fixture/hello.txt");
    say("fd_readdir on a file", __wasi_fd_readdir(fd, buf, sizeof buf, 0, &used));
    close_fd(fd);
    say("fd_readdir unused fd", __wasi_fd_readdir(NOFD, buf, sizeof buf, 0, &used));
    /* Through libc (opendir/readdir), sorted. */
    DIR *d = opendir("/fixture/dir");
    if (d == NULL) {
        say_ok("opendir", "failed errno %d", errno);
        return;
    }
    char names[16][64];
    int n = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL && n < 16) {
        snprintf(names[n++], sizeof names[0], "%s", ent->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    printf("%s: readdir /fixture/dir ->", current_case);
    for (int i = 0; i < n; i++) {
        printf(" %s", names[i]);
    }
    putchar('\n');
}

static void case_dirs(void) {
    say("path_create_directory", __wasi_path_create_directory(ROOT, "fixture/scratch/d"));
    say("path_create_directory existing", __wasi_path_create_directory(ROOT, "fixture/scratch/d"));
    say("path_create_directory over file", __wasi_path_create_directory(ROOT, "fixture/hello.txt"));
    say("path_create_directory missing parent",
        __wasi_path_create_directory(ROOT, "fixture/scratch/nope/d"));
    say("path_create_directory under file",
        __wasi_path_create_directory(ROOT, "fixture/hello.txt/d"));
    say("path_create_directory trailing slash",
        __wasi_path_create_directory(ROOT, "fixture/scratch/d2/"));
    say("path_create_directory escaping", __wasi_path_create_directory(ROOT, "../d"));
    say("path_create_directory absolute", __wasi_path_create_directory(ROOT, "/fixture/scratch/d3"));
    say("path_create_directory empty", __wasi_path_create_directory(ROOT, ""));
    say("path_create_directory unused fd", __wasi_path_create_directory(NOFD, "d"));
    __wasi_fd_t fd = open_rw("fixture/scratch/d/f", __WASI_OFLAGS_CREAT);
    close_fd(fd);
    say("path_remove_directory non-empty", __wasi_path_remove_directory(ROOT, "fixture/scratch/d"));
    say("path_remove_directory file", __wasi_path_remove_directory(ROOT, "fixture/scratch/d/f"));
    say("path_remove_directory missing", __wasi_path_remove_directory(ROOT, "fixture/scratch/none"));
    say("path_remove_directory symlink to dir", __wasi_path_remove_directory(ROOT, "fixture/dirlink"));
    say("path_unlink_file directory", __wasi_path_unlink_file(ROOT, "fixture/scratch/d"));
    say("path_unlink_file missing", __wasi_path_unlink_file(ROOT, "fixture/scratch/none"));
    say("path_unlink_file trailing slash", __wasi_path_unlink_file(ROOT, "fixture/scratch/d/f/"));
    say("path_unlink_file", __wasi_path_unlink_file(ROOT, "fixture/scratch/d/f"));
    say("path_unlink_file again", __wasi_path_unlink_file(ROOT, "fixture/scratch/d/f"));
    say("path_unlink_file unused fd", __wasi_path_unlink_file(NOFD, "f"));
    say("path_remove_directory dot", __wasi_path_remove_directory(ROOT, "fixture/scratch/d/."));
    say("path_remove_directory", __wasi_path_remove_directory(ROOT, "fixture/scratch/d"));
    say("path_remove_directory trailing slash", __wasi_path_remove_directory(ROOT, "fixture/scratch/d2/"));
    say("path_remove_directory unused fd", __wasi_path_remove_directory(NOFD, "d"));
    __wasi_filestat_t st;
    say("path_filestat_get removed", __wasi_path_filestat_get(ROOT, 0, "fixture/scratch/d", &st));
    /* An open directory fd as the base of relative paths. */
    fd = open_path(NULL, 0, "fixture/scratch", __WASI_OFLAGS_DIRECTORY, RIGHTS_RO, 0);
    say("path_create_directory relative to dir fd", __wasi_path_create_directory(fd, "rel"));
    say("path_filestat_get via root", __wasi_path_filestat_get(ROOT, 0, "fixture/scratch/rel", &st));
    say("path_remove_directory relative to dir fd", __wasi_path_remove_directory(fd, "rel"));
    say("escape from dir fd", __wasi_path_create_directory(fd, "../escaped"));
    close_fd(fd);
}

static void case_rename(void) {
    const __wasi_lookupflags_t F = __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW;
    __wasi_fd_t fd = open_rw("fixture/scratch/r1", __WASI_OFLAGS_CREAT);
    write_all(fd, "r1", 2);
    close_fd(fd);
    close_fd(open_rw("fixture/scratch/r2", __WASI_OFLAGS_CREAT));
    MUST(__wasi_path_create_directory(ROOT, "fixture/scratch/rd"));
    MUST(__wasi_path_create_directory(ROOT, "fixture/scratch/rd2"));
    close_fd(open_rw("fixture/scratch/rd2/x", __WASI_OFLAGS_CREAT));
    say("path_rename file", __wasi_path_rename(ROOT, "fixture/scratch/r1", ROOT, "fixture/scratch/r3"));
    __wasi_filestat_t st;
    say("old name gone", __wasi_path_filestat_get(ROOT, F, "fixture/scratch/r1", &st));
    if (say("new name there", __wasi_path_filestat_get(ROOT, F, "fixture/scratch/r3", &st)) == 0) {
        print_filestat("renamed", &st);
    }
    say("path_rename over file", __wasi_path_rename(ROOT, "fixture/scratch/r3", ROOT, "fixture/scratch/r2"));
    if (say("target replaced", __wasi_path_filestat_get(ROOT, F, "fixture/scratch/r2", &st)) == 0) {
        print_filestat("replaced", &st);
    }
    say("path_rename missing", __wasi_path_rename(ROOT, "fixture/scratch/none", ROOT, "fixture/scratch/x"));
    say("path_rename file over directory", __wasi_path_rename(ROOT, "fixture/scratch/r2", ROOT, "fixture/scratch/rd"));
    say("path_rename directory over file", __wasi_path_rename(ROOT, "fixture/scratch/rd", ROOT, "fixture/scratch/r2"));
    say("path_rename directory over non-empty", __wasi_path_rename(ROOT, "fixture/scratch/rd", ROOT, "fixture/scratch/rd2"));
    say("path_rename directory into itself", __wasi_path_rename(ROOT, "fixture/scratch/rd", ROOT, "fixture/scratch/rd/in"));
    say("path_rename directory", __wasi_path_rename(ROOT, "fixture/scratch/rd", ROOT, "fixture/scratch/rd3"));
    say("path_rename into missing directory", __wasi_path_rename(ROOT, "fixture/scratch/r2", ROOT, "fixture/scratch/nope/r2"));
    say("path_rename escaping", __wasi_path_rename(ROOT, "fixture/scratch/r2", ROOT, "../r2"));
    say("path_rename unused fd", __wasi_path_rename(NOFD, "a", ROOT, "b"));
    say("path_rename to unused fd", __wasi_path_rename(ROOT, "fixture/scratch/r2", NOFD, "b"));
    fd = open_path(NULL, 0, "fixture/scratch/rd2", __WASI_OFLAGS_DIRECTORY, RIGHTS_RO, 0);
    say("path_rename between dir fds", __wasi_path_rename(ROOT, "fixture/scratch/r2", fd, "moved"));
    say("moved there", __wasi_path_filestat_get(ROOT, F, "fixture/scratch/rd2/moved", &st));
    close_fd(fd);
    /* Through libc. */
    say_ok("rename()", "%d", rename("/fixture/scratch/rd2/moved", "/fixture/scratch/back"));
    say_ok("rename() missing", "%d errno %d", rename("/fixture/scratch/none", "/fixture/scratch/x"), errno);
}

static void case_links(void) {
    const __wasi_lookupflags_t F = __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW;
    __wasi_fd_t fd = open_rw("fixture/scratch/orig", __WASI_OFLAGS_CREAT);
    write_all(fd, "orig", 4);
    close_fd(fd);
    __wasi_filestat_t st, st2;
    if (say("path_link", __wasi_path_link(ROOT, 0, "fixture/scratch/orig", ROOT, "fixture/scratch/hard")) == 0) {
        MUST(__wasi_path_filestat_get(ROOT, 0, "fixture/scratch/orig", &st));
        MUST(__wasi_path_filestat_get(ROOT, 0, "fixture/scratch/hard", &st2));
        say_ok("linked", "nlink %llu same inode %s", (unsigned long long)st.nlink,
               st.ino == st2.ino ? "yes" : "no");
    }
    say("path_link existing", __wasi_path_link(ROOT, 0, "fixture/scratch/orig", ROOT, "fixture/scratch/hard"));
    say("path_link missing", __wasi_path_link(ROOT, 0, "fixture/scratch/none", ROOT, "fixture/scratch/h2"));
    say("path_link directory", __wasi_path_link(ROOT, 0, "fixture/dir", ROOT, "fixture/scratch/dl"));
    say("path_link follow flag", __wasi_path_link(ROOT, F, "fixture/link", ROOT, "fixture/scratch/h3"));
    if (say("path_link of a symlink", __wasi_path_link(ROOT, 0, "fixture/link", ROOT, "fixture/scratch/h4")) == 0) {
        MUST(__wasi_path_filestat_get(ROOT, 0, "fixture/scratch/h4", &st));
        print_filestat("hard link to symlink", &st);
    }
    say("path_link escaping", __wasi_path_link(ROOT, 0, "fixture/scratch/orig", ROOT, "../h"));
    say("path_link unused fd", __wasi_path_link(NOFD, 0, "a", ROOT, "b"));
    say("path_unlink_file hard", __wasi_path_unlink_file(ROOT, "fixture/scratch/hard"));
    if (say("nlink back", __wasi_path_filestat_get(ROOT, 0, "fixture/scratch/orig", &st)) == 0) {
        print_filestat("orig", &st);
    }

    if (say("path_symlink", __wasi_path_symlink("orig", ROOT, "fixture/scratch/sl")) == 0) {
        char buf[64];
        __wasi_size_t n = 0;
        if (say("path_readlink", __wasi_path_readlink(ROOT, "fixture/scratch/sl", (uint8_t *)buf, sizeof buf, &n)) == 0) {
            say_ok("target", "%.*s (%u bytes)", (int)n, buf, (unsigned)n);
        }
        if (say("path_readlink short buffer", __wasi_path_readlink(ROOT, "fixture/scratch/sl", (uint8_t *)buf, 2, &n)) == 0) {
            say_ok("target", "%.*s (%u bytes)", (int)n, buf, (unsigned)n);
        }
        fd = open_ro("fixture/scratch/sl");
        size_t got;
        if ((int)fd >= 0 && read_all(fd, buf, sizeof buf, &got) == 0) {
            say_ok("read through new symlink", "%s", buf);
        }
        close_fd(fd);
    }
    say("path_symlink existing", __wasi_path_symlink("x", ROOT, "fixture/scratch/sl"));
    say("path_symlink over directory", __wasi_path_symlink("x", ROOT, "fixture/scratch"));
    say("path_symlink dangling", __wasi_path_symlink("nothing/here", ROOT, "fixture/scratch/dang"));
    say("path_symlink escaping link name", __wasi_path_symlink("x", ROOT, "../sl"));
    say("path_symlink missing parent", __wasi_path_symlink("x", ROOT, "fixture/scratch/nope/sl"));
    say("path_symlink unused fd", __wasi_path_symlink("x", NOFD, "sl"));
    char buf[64];
    __wasi_size_t n;
    if (say("path_readlink fixture link", __wasi_path_readlink(ROOT, "fixture/link", (uint8_t *)buf, sizeof buf, &n)) == 0) {
        say_ok("target", "%.*s", (int)n, buf);
    }
    if (say("path_readlink dirlink", __wasi_path_readlink(ROOT, "fixture/dirlink", (uint8_t *)buf, sizeof buf, &n)) == 0) {
        say_ok("target", "%.*s", (int)n, buf);
    }
    /* Absolute targets: one line each, as the runtimes differ on purpose (the
     * vkernel resolves them from the container's root, wasmtime-wasi refuses them). */
    n = 0;
    __wasi_errno_t e = __wasi_path_readlink(ROOT, "fixture/abslink", (uint8_t *)buf, sizeof buf, &n);
    if (e == 0) {
        say_ok("path_readlink absolute symlink", "%.*s", (int)n, buf);
    } else {
        say("path_readlink absolute symlink", e);
    }
    fd = open_path("open through absolute symlink", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
                   "fixture/abslink", 0, RIGHTS_RO, 0);
    close_fd(fd);
    say("path_symlink absolute target",
        __wasi_path_symlink("/fixture/hello.txt", ROOT, "fixture/scratch/abs"));
    say("path_readlink regular file", __wasi_path_readlink(ROOT, "fixture/hello.txt", (uint8_t *)buf, sizeof buf, &n));
    say("path_readlink directory", __wasi_path_readlink(ROOT, "fixture/dir", (uint8_t *)buf, sizeof buf, &n));
    say("path_readlink missing", __wasi_path_readlink(ROOT, "fixture/missing", (uint8_t *)buf, sizeof buf, &n));
    say("path_readlink unused fd", __wasi_path_readlink(NOFD, "x", (uint8_t *)buf, sizeof buf, &n));
    say("path_unlink_file symlink", __wasi_path_unlink_file(ROOT, "fixture/scratch/sl"));
    __wasi_filestat_t gone;
    say("symlink gone", __wasi_path_filestat_get(ROOT, 0, "fixture/scratch/sl", &gone));
    say("its target stays", __wasi_path_filestat_get(ROOT, 0, "fixture/scratch/orig", &gone));
    /* Through libc. */
    say_ok("symlink()", "%d", symlink("../hello.txt", "/fixture/scratch/libc_link"));
    ssize_t len = readlink("/fixture/scratch/libc_link", buf, sizeof buf);
    say_ok("readlink()", "%.*s", (int)(len < 0 ? 0 : len), buf);
    say_ok("link()", "%d", link("/fixture/scratch/orig", "/fixture/scratch/libc_hard"));
    say_ok("unlink()", "%d", unlink("/fixture/scratch/libc_hard"));
}

static void case_renumber(void) {
    __wasi_fd_t a = open_ro("fixture/hello.txt");
    __wasi_fd_t b = open_ro("fixture/dir/a.txt");
    if (say("fd_renumber", __wasi_fd_renumber(a, b)) == 0) {
        char buf[64];
        size_t got;
        if (say("read renumbered", read_all(b, buf, sizeof buf, &got)) == 0) {
            say_ok("content", "%s", shown(buf));
        }
        __wasi_fdstat_t s;
        say("old fd closed", __wasi_fd_fdstat_get(a, &s));
    }
    say("fd_renumber to itself", __wasi_fd_renumber(b, b));
    say("fd_renumber from unused fd", __wasi_fd_renumber(NOFD, b));
    say("fd_renumber to unused fd", __wasi_fd_renumber(b, NOFD));
    close_fd(b);
    say("fd_close", __wasi_fd_close(open_ro("fixture/hello.txt")));
    say("fd_close unused fd", __wasi_fd_close(NOFD));
    __wasi_fd_t c = open_ro("fixture/hello.txt");
    MUST(__wasi_fd_close(c));
    say("fd_close twice", __wasi_fd_close(c));
    /* Many opens at once, then all closed: no fd leaks. */
    __wasi_fd_t fds[40];
    int opened = 0;
    for (int i = 0; i < 40; i++) {
        fds[i] = open_ro("fixture/hello.txt");
        opened += (int)fds[i] >= 0;
    }
    int distinct = 1;
    for (int i = 0; i < 40; i++) {
        for (int j = 0; j < i; j++) {
            distinct &= fds[i] != fds[j];
        }
    }
    int closed = 0;
    for (int i = 0; i < 40; i++) {
        closed += __wasi_fd_close(fds[i]) == 0;
    }
    say_ok("40 opens", "opened %d distinct %d closed %d", opened, distinct, closed);
}

static void case_advise_sync(void) {
    __wasi_fd_t fd = open_rw("fixture/scratch/sync.txt", __WASI_OFLAGS_CREAT);
    write_all(fd, "data", 4);
    say("fd_advise normal", __wasi_fd_advise(fd, 0, 4, __WASI_ADVICE_NORMAL));
    say("fd_advise dontneed", __wasi_fd_advise(fd, 0, 0, __WASI_ADVICE_DONTNEED));
    say("fd_advise unused fd", __wasi_fd_advise(NOFD, 0, 4, __WASI_ADVICE_NORMAL));
    say("fd_sync", __wasi_fd_sync(fd));
    say("fd_datasync", __wasi_fd_datasync(fd));
    close_fd(fd);
    fd = open_ro("fixture/hello.txt");
    say("fd_sync read-only", __wasi_fd_sync(fd));
    say("fd_datasync read-only", __wasi_fd_datasync(fd));
    close_fd(fd);
    fd = open_path(NULL, 0, "fixture/dir", __WASI_OFLAGS_DIRECTORY, RIGHTS_RO, 0);
    say("fd_sync directory", __wasi_fd_sync(fd));
    say("fd_advise directory", __wasi_fd_advise(fd, 0, 4, __WASI_ADVICE_NORMAL));
    close_fd(fd);
    say("fd_sync unused fd", __wasi_fd_sync(NOFD));
    say("fd_datasync unused fd", __wasi_fd_datasync(NOFD));
}

static void case_clock(void) {
    __wasi_timestamp_t res = 0, t1 = 0, t2 = 0;
    if (say("clock_res_get realtime", __wasi_clock_res_get(__WASI_CLOCKID_REALTIME, &res)) == 0) {
        say_ok("resolution", "%s", res > 0 && res <= 1000000000ull ? "in (0, 1s]" : "odd");
    }
    if (say("clock_res_get monotonic", __wasi_clock_res_get(__WASI_CLOCKID_MONOTONIC, &res)) == 0) {
        say_ok("resolution", "%s", res > 0 && res <= 1000000000ull ? "in (0, 1s]" : "odd");
    }
    if (say("clock_time_get realtime", __wasi_clock_time_get(__WASI_CLOCKID_REALTIME, 1, &t1)) == 0) {
        say_ok("after 2023", "%s", t1 > 1700000000ull * 1000000000ull ? "yes" : "no");
    }
    MUST(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t1));
    MUST(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t2));
    say_ok("clock_time_get monotonic", "%s", t2 >= t1 ? "non-decreasing" : "went back");
}

static void case_poll(void) {
    __wasi_subscription_t sub[3];
    __wasi_event_t ev[3];
    __wasi_size_t n = 0;
    memset(sub, 0, sizeof sub);
    memset(ev, 0, sizeof ev);
    sub[0].userdata = 42;
    sub[0].u.tag = __WASI_EVENTTYPE_CLOCK;
    sub[0].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    sub[0].u.u.clock.timeout = 1000000; /* 1 ms */
    __wasi_timestamp_t t1, t2;
    MUST(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t1));
    if (say("poll_oneoff relative clock", __wasi_poll_oneoff(sub, ev, 1, &n)) == 0) {
        MUST(__wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, &t2));
        say_ok("event", "n %u userdata %llu error %u type %u waited %s", (unsigned)n,
               (unsigned long long)ev[0].userdata, ev[0].error, ev[0].type,
               t2 - t1 >= 1000000 ? ">=1ms" : "<1ms");
    }
    /* An absolute deadline already past. */
    sub[0].u.u.clock.id = __WASI_CLOCKID_REALTIME;
    sub[0].u.u.clock.timeout = 1;
    sub[0].u.u.clock.flags = __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME;
    if (say("poll_oneoff past absolute deadline", __wasi_poll_oneoff(sub, ev, 1, &n)) == 0) {
        say_ok("event", "n %u userdata %llu error %u type %u", (unsigned)n,
               (unsigned long long)ev[0].userdata, ev[0].error, ev[0].type);
    }
    /* A regular file is always ready; a clock that would wait long does not fire. */
    __wasi_fd_t fd = open_ro("fixture/hello.txt");
    memset(sub, 0, sizeof sub);
    sub[0].userdata = 1;
    sub[0].u.tag = __WASI_EVENTTYPE_FD_READ;
    sub[0].u.u.fd_read.file_descriptor = fd;
    sub[1].userdata = 2;
    sub[1].u.tag = __WASI_EVENTTYPE_CLOCK;
    sub[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
    sub[1].u.u.clock.timeout = 10ull * 1000000000ull;
    if (say("poll_oneoff file read and clock", __wasi_poll_oneoff(sub, ev, 2, &n)) == 0) {
        say_ok("events", "n %u first userdata %llu error %u type %u", (unsigned)n,
               (unsigned long long)ev[0].userdata, ev[0].error, ev[0].type);
    }
    sub[0].u.tag = __WASI_EVENTTYPE_FD_WRITE;
    sub[0].u.u.fd_write.file_descriptor = fd;
    if (say("poll_oneoff file write", __wasi_poll_oneoff(sub, ev, 1, &n)) == 0) {
        say_ok("events", "n %u userdata %llu error %u type %u", (unsigned)n,
               (unsigned long long)ev[0].userdata, ev[0].error, ev[0].type);
    }
    close_fd(fd);
    sub[0].u.tag = __WASI_EVENTTYPE_FD_READ;
    sub[0].u.u.fd_read.file_descriptor = NOFD;
    if (say("poll_oneoff unused fd", __wasi_poll_oneoff(sub, ev, 1, &n)) == 0) {
        say_ok("events", "n %u userdata %llu error %u %s type %u", (unsigned)n,
               (unsigned long long)ev[0].userdata, ev[0].error, errno_name(ev[0].error),
               ev[0].type);
    }
    say("poll_oneoff no subscriptions", __wasi_poll_oneoff(sub, ev, 0, &n));
    sub[0].u.tag = 7;
    say("poll_oneoff bad event type", __wasi_poll_oneoff(sub, ev, 1, &n));
    /* stdout (a stream in both) is writable. */
    sub[0].u.tag = __WASI_EVENTTYPE_FD_WRITE;
    sub[0].u.u.fd_write.file_descriptor = 1;
    fflush(stdout);
    if (say("poll_oneoff stdout write", __wasi_poll_oneoff(sub, ev, 1, &n)) == 0) {
        say_ok("events", "n %u error %u type %u", (unsigned)n, ev[0].error, ev[0].type);
    }
    sched_yield();
    say("sched_yield", __wasi_sched_yield());
}

static void case_random(void) {
    uint8_t buf[64];
    memset(buf, 0, sizeof buf);
    if (say("random_get 64 bytes", __wasi_random_get(buf, sizeof buf)) == 0) {
        int nonzero = 0;
        for (size_t i = 0; i < sizeof buf; i++) {
            nonzero += buf[i] != 0;
        }
        say_ok("not all zero", "%s", nonzero > 0 ? "yes" : "no");
    }
    say("random_get 0 bytes", __wasi_random_get(buf, 0));
    static uint8_t big[70000]; /* more than the guest's stack */
    say("random_get 70000 bytes", __wasi_random_get(big, sizeof big));
}

static void case_sock(void) {
    __wasi_fd_t fd = open_ro("fixture/hello.txt");
    __wasi_fd_t out;
    char buf[8];
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
    __wasi_ciovec_t ciov = {(const uint8_t *)"x", 1};
    __wasi_size_t n;
    __wasi_roflags_t roflags;
    say("sock_accept on a file", __wasi_sock_accept(fd, 0, &out));
    say("sock_recv on a file", __wasi_sock_recv(fd, &iov, 1, 0, &n, &roflags));
    say("sock_send on a file", __wasi_sock_send(fd, &ciov, 1, 0, &n));
    say("sock_shutdown on a file", __wasi_sock_shutdown(fd, __WASI_SDFLAGS_RD));
    say("sock_accept on the preopen", __wasi_sock_accept(ROOT, 0, &out));
    say("sock_accept unused fd", __wasi_sock_accept(NOFD, 0, &out));
    say("sock_recv unused fd", __wasi_sock_recv(NOFD, &iov, 1, 0, &n, &roflags));
    say("sock_send unused fd", __wasi_sock_send(NOFD, &ciov, 1, 0, &n));
    say("sock_shutdown unused fd", __wasi_sock_shutdown(NOFD, __WASI_SDFLAGS_WR));
    close_fd(fd);
}

static void case_stdio(void) {
    print_fdstat("fd_fdstat_get stdin", 0);
    print_fdstat("fd_fdstat_get stdout", 1);
    __wasi_filestat_t st;
    if (say("fd_filestat_get stdout", __wasi_fd_filestat_get(1, &st)) == 0) {
        say_ok("stdout", "type %s", filetype_name(st.filetype));
    }
    fflush(stdout);
    __wasi_ciovec_t iov = {(const uint8_t *)"raw line on stdout\n", 19};
    __wasi_size_t n = 0;
    __wasi_errno_t e = __wasi_fd_write(1, &iov, 1, &n);
    say("fd_write stdout", e);
    iov.buf = (const uint8_t *)"raw line on stderr\n";
    e = __wasi_fd_write(2, &iov, 1, &n);
    say("fd_write stderr", e);
    fprintf(stderr, "wasi_conf: stderr through stdio\n");
}

/* ---- invalid arguments ----
 *
 * A flag or enum argument out of its range: wasmtime-wasi traps while
 * converting the argument (wiggle's generated glue fails the call), the vkernel
 * answers INVAL (OVERFLOW for a value too wide for its type). Not part of
 * `all`: the test runs each alone (`bad N`) and checks that difference. */

__attribute__((import_module("wasi_snapshot_preview1"), import_name("proc_raise")))
__wasi_errno_t raw_proc_raise(uint32_t signal);

static __wasi_errno_t bad_oflags(void) {
    __wasi_fd_t out;
    return __wasi_path_open(ROOT, 0, "fixture/hello.txt", 0x10, RIGHTS_RO, RIGHTS_ALL, 0, &out);
}
static __wasi_errno_t bad_lookupflags(void) {
    __wasi_fd_t out;
    return __wasi_path_open(ROOT, 0x2, "fixture/hello.txt", 0, RIGHTS_RO, RIGHTS_ALL, 0, &out);
}
static __wasi_errno_t bad_fdflags(void) {
    return __wasi_fd_fdstat_set_flags(ROOT, 0x20);
}
static __wasi_errno_t bad_fstflags(void) {
    return __wasi_fd_filestat_set_times(ROOT, 0, 0, 0x10);
}
static __wasi_errno_t bad_whence(void) {
    __wasi_filesize_t pos;
    return __wasi_fd_seek(0, 0, 7, &pos);
}
static __wasi_errno_t bad_advice(void) {
    return __wasi_fd_advise(ROOT, 0, 4, 9);
}
static __wasi_errno_t bad_clock_res(void) {
    __wasi_timestamp_t t;
    return __wasi_clock_res_get(9, &t);
}
static __wasi_errno_t bad_clock_time(void) {
    __wasi_timestamp_t t;
    return __wasi_clock_time_get(9, 1, &t);
}
static __wasi_errno_t bad_signal(void) {
    return raw_proc_raise(99);
}
static __wasi_errno_t bad_sock_flags(void) {
    __wasi_fd_t out;
    return __wasi_sock_accept(0, 0x100, &out);
}
static __wasi_errno_t bad_sdflags(void) {
    return __wasi_sock_shutdown(ROOT, 8);
}

struct bad_call {
    const char *what;
    __wasi_errno_t (*call)(void);
};

static const struct bad_call BAD_CALLS[] = {
    {"path_open oflags 0x10", bad_oflags},
    {"path_open lookupflags 0x2", bad_lookupflags},
    {"fd_fdstat_set_flags 0x20", bad_fdflags},
    {"fd_filestat_set_times fstflags 0x10", bad_fstflags},
    {"fd_seek whence 7", bad_whence},
    {"fd_advise advice 9", bad_advice},
    {"clock_res_get clock 9", bad_clock_res},
    {"clock_time_get clock 9", bad_clock_time},
    {"proc_raise signal 99", bad_signal},
    {"sock_accept flags 0x100", bad_sock_flags},
    {"sock_shutdown how 8", bad_sdflags},
};

/* `bad`: how many invalid-argument calls there are; `bad N`: makes call N. */
static int run_bad(const char *index) {
    const size_t count = sizeof BAD_CALLS / sizeof BAD_CALLS[0];
    current_case = "bad";
    if (index == NULL) {
        printf("%zu\n", count);
        return 0;
    }
    size_t i = (size_t)atoi(index);
    if (i >= count) {
        fprintf(stderr, "wasi_conf: no invalid-argument call %s\n", index);
        return 2;
    }
    fflush(stdout);
    say(BAD_CALLS[i].what, BAD_CALLS[i].call());
    return 0;
}

struct test_case {
    const char *name;
    void (*run)(void);
};

static const struct test_case CASES[] = {
    {"prestat", case_prestat},   {"open", case_open},
    {"rw", case_rw},             {"stat", case_stat},
    {"times", case_times},       {"size", case_size},
    {"fdstat", case_fdstat},     {"readdir", case_readdir},
    {"dirs", case_dirs},         {"rename", case_rename},
    {"links", case_links},       {"renumber", case_renumber},
    {"advise_sync", case_advise_sync}, {"clock", case_clock},
    {"poll", case_poll},         {"random", case_random},
    {"sock", case_sock},         {"stdio", case_stdio},
};

int main(int argc, char **argv) {
    const char *which = argc > 1 ? argv[1] : "all";
    if (strcmp(which, "bad") == 0) {
        return run_bad(argc > 2 ? argv[2] : NULL);
    }
    int ran = 0;
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        if (strcmp(which, "all") == 0 || strcmp(which, CASES[i].name) == 0) {
            current_case = CASES[i].name;
            CASES[i].run();
            fflush(stdout);
            ran++;
        }
    }
    if (ran == 0) {
        /* The usage on stdout, the complaint on stderr. */
        printf("usage: wasi_conf all|bad [N]");
        for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
            printf("|%s", CASES[i].name);
        }
        putchar('\n');
        fprintf(stderr, "wasi_conf: no case named %s\n", which);
        return 2;
    }
    return 0;
}

#endif
