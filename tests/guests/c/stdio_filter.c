/*
 * stdio_filter: a classic Unix filter.
 *
 * Reads all of stdin and writes every line to stdout upper-cased and numbered
 * ("%4d: LINE"). A last line without a trailing newline still counts as a
 * line. Writes "lines=N bytes=M" to stderr.
 *
 * Exit status: 3 if some line is exactly "fail", otherwise N % 256
 * (so 0 for empty input).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    if (buf == NULL) {
        perror("stdio_filter: malloc");
        return 1;
    }
    for (;;) {
        if (len == cap) {
            cap *= 2;
            char *bigger = realloc(buf, cap);
            if (bigger == NULL) {
                perror("stdio_filter: realloc");
                return 1;
            }
            buf = bigger;
        }
        size_t n = fread(buf + len, 1, cap - len, stdin);
        len += n;
        if (n == 0) {
            if (ferror(stdin)) {
                perror("stdio_filter: read stdin");
                return 1;
            }
            break;
        }
    }

    int lines = 0;
    int failed = 0;
    size_t start = 0;
    while (start < len) {
        char *nl = memchr(buf + start, '\n', len - start);
        size_t end = nl ? (size_t)(nl - buf) : len;
        size_t line_len = end - start;
        lines++;
        if (line_len == 4 && memcmp(buf + start, "fail", 4) == 0) {
            failed = 1;
        }
        printf("%4d: ", lines);
        for (size_t i = start; i < end; i++) {
            putchar(toupper((unsigned char)buf[i]));
        }
        putchar('\n');
        start = end + 1;
    }
    fflush(stdout);
    fprintf(stderr, "lines=%d bytes=%zu\n", lines, len);
    free(buf);
    return failed ? 3 : lines % 256;
}
