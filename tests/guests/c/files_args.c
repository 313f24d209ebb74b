/*
 * files_args DIR NAME TEXT...: arguments and file-system calls.
 *
 * Prints argv (argv[0] exactly as received), creates DIR/NAME holding the
 * TEXT words joined by spaces, appends a second line, reads the file back and
 * prints it, creates DIR/sub, renames the file into it, lists DIR and DIR/sub
 * (sorted, with the size of regular files), then removes what it created.
 *
 * Exit status: 0 on success, 2 on a usage error, 1 on an I/O error (with a
 * perror-style message on stderr).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ENTRIES 256

static void die(const char *what, const char *path) {
    fprintf(stderr, "files_args: %s %s: %s\n", what, path, strerror(errno));
    exit(1);
}

static char *join(const char *a, const char *b) {
    size_t n = strlen(a) + 1 + strlen(b) + 1;
    char *out = malloc(n);
    if (out == NULL) {
        die("malloc for", b);
    }
    snprintf(out, n, "%s/%s", a, b);
    return out;
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints "<label>: <name> <size>" (or "<name>/" for a directory), sorted. */
static void list_dir(const char *label, const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL) {
        die("opendir", dir);
    }
    char *names[MAX_ENTRIES];
    int count = 0;
    struct dirent *entry;
    errno = 0;
    while ((entry = readdir(d)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) {
            continue;
        }
        if (count == MAX_ENTRIES) {
            fprintf(stderr, "files_args: too many entries in %s\n", dir);
            exit(1);
        }
        names[count++] = strdup(entry->d_name);
    }
    if (errno != 0) {
        die("readdir", dir);
    }
    closedir(d);
    qsort(names, (size_t)count, sizeof names[0], compare_names);
    printf("%s: %d entries\n", label, count);
    for (int i = 0; i < count; i++) {
        char *path = join(dir, names[i]);
        struct stat st;
        if (stat(path, &st) != 0) {
            die("stat", path);
        }
        if (S_ISDIR(st.st_mode)) {
            printf("  %s/\n", names[i]);
        } else {
            printf("  %s %lld\n", names[i], (long long)st.st_size);
        }
        free(path);
        free(names[i]);
    }
}

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++) {
        printf("argv[%d]=%s\n", i, argv[i]);
    }
    if (argc < 4) {
        fprintf(stderr, "usage: %s DIR NAME TEXT...\n", argc > 0 ? argv[0] : "files_args");
        return 2;
    }
    const char *dir = argv[1];
    const char *name = argv[2];
    if (strchr(name, '/') != NULL || strcmp(name, "sub") == 0) {
        fprintf(stderr, "files_args: NAME must be a plain file name other than \"sub\": %s\n", name);
        return 2;
    }

    char *path = join(dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        die("create", path);
    }
    for (int i = 3; i < argc; i++) {
        fprintf(f, "%s%s", i > 3 ? " " : "", argv[i]);
    }
    fputc('\n', f);
    if (fclose(f) != 0) {
        die("write", path);
    }

    f = fopen(path, "a");
    if (f == NULL) {
        die("open for append", path);
    }
    fprintf(f, "second line\n");
    if (fclose(f) != 0) {
        die("append", path);
    }

    f = fopen(path, "r");
    if (f == NULL) {
        die("open for reading", path);
    }
    char content[4096];
    size_t n = fread(content, 1, sizeof content - 1, f);
    if (ferror(f)) {
        die("read", path);
    }
    fclose(f);
    content[n] = '\0';
    printf("read %zu bytes:\n%s", n, content);

    char *sub = join(dir, "sub");
    if (mkdir(sub, 0755) != 0) {
        die("mkdir", sub);
    }
    char *moved = join(sub, name);
    if (rename(path, moved) != 0) {
        die("rename", path);
    }
    struct stat st;
    if (stat(path, &st) == 0 || errno != ENOENT) {
        fprintf(stderr, "files_args: %s still exists after rename\n", path);
        return 1;
    }

    list_dir("dir", dir);
    list_dir("sub", sub);

    if (unlink(moved) != 0) {
        die("unlink", moved);
    }
    if (rmdir(sub) != 0) {
        die("rmdir", sub);
    }
    printf("cleaned up\n");
    free(moved);
    free(sub);
    free(path);
    return 0;
}
