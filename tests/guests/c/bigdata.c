/*
 * bigdata [WORD...]: a program whose WebAssembly data section is large.
 *
 * `table` (const, lands in .rodata) is a little over 2 MiB and `scratch`
 * (mutable, lands in .data) a little over 1.25 MiB; both are initialised with
 * non-zero text built by doubling string literals in the preprocessor, so the
 * linker must emit them as data segments (zero-filled arrays would go to .bss
 * and cost nothing). Prints the FNV-1a checksum of both, then scrambles
 * `scratch` with the bytes of every WORD and prints its checksum again.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* 64 bytes; each doubling level adds one distinct separator byte. */
#define T0 "The quick brown fox jumps over the lazy dog 0123456789 <bigdata>"
#define T1 T0 "\x01" T0
#define T2 T1 "\x02" T1
#define T3 T2 "\x03" T2
#define T4 T3 "\x04" T3
#define T5 T4 "\x05" T4
#define T6 T5 "\x06" T5
#define T7 T6 "\x07" T6
#define T8 T7 "\x08" T7
#define T9 T8 "\x09" T8
#define T10 T9 "\x0a" T9
#define T11 T10 "\x0b" T10
#define T12 T11 "\x0c" T11
#define T13 T12 "\x0d" T12
#define T14 T13 "\x0e" T13
#define T15 T14 "\x0f" T14

/* 40 bytes. */
#define M0 "mutable data: pack my box with 5 jugs.\n"
#define M1 M0 "\x11" M0
#define M2 M1 "\x12" M1
#define M3 M2 "\x13" M2
#define M4 M3 "\x14" M3
#define M5 M4 "\x15" M4
#define M6 M5 "\x16" M5
#define M7 M6 "\x17" M6
#define M8 M7 "\x18" M7
#define M9 M8 "\x19" M8
#define M10 M9 "\x1a" M9
#define M11 M10 "\x1b" M10
#define M12 M11 "\x1c" M11
#define M13 M12 "\x1d" M12
#define M14 M13 "\x1e" M13
#define M15 M14 "\x1f" M14

static const unsigned char table[] = T15;
static unsigned char scratch[] = M15;

static uint64_t fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

int main(int argc, char **argv) {
    printf("table: %zu bytes fnv1a=%016llx\n", sizeof table,
           (unsigned long long)fnv1a(table, sizeof table));
    printf("scratch: %zu bytes fnv1a=%016llx\n", sizeof scratch,
           (unsigned long long)fnv1a(scratch, sizeof scratch));
    for (int i = 1; i < argc; i++) {
        const unsigned char *word = (const unsigned char *)argv[i];
        size_t len = strlen(argv[i]);
        uint64_t at = fnv1a(word, len) % sizeof scratch;
        for (size_t j = 0; j < len; j++) {
            scratch[(at + j * 4099) % sizeof scratch] ^= word[j];
        }
    }
    printf("scratch after %d words: fnv1a=%016llx\n", argc - 1,
           (unsigned long long)fnv1a(scratch, sizeof scratch));
    printf("table[1000000]=%u scratch[1000000]=%u\n", table[1000000], scratch[1000000]);
    return 0;
}
