/* main.c - runs every registered unit-test suite (or those named on the command line) and prints
 * "N passed, N failed, N skipped". A test fails when any CHECK in it fails, and is skipped when it
 * calls tn_test_skip (which says why). */
#include "tn_test.h"

#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SUITES 64

struct suite {
    const char *name;
    const struct tn_test *tests;
};

static struct suite suites[MAX_SUITES];
static int nsuites;
static int current_failed;
static char current_skip[300]; /* why the running test skipped; "" when it did not */
static char tmp_root[256];
static int tmp_seq;

void tn_test_register(const char *name, const struct tn_test *tests)
{
    if (nsuites == MAX_SUITES) {
        fprintf(stderr, "too many test suites\n");
        exit(2);
    }
    suites[nsuites].name = name;
    suites[nsuites].tests = tests;
    nsuites++;
}

void tn_test_failed(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    current_failed = 1;
}

void tn_test_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(current_skip, sizeof(current_skip), fmt, ap);
    va_end(ap);
    if (!current_skip[0])
        snprintf(current_skip, sizeof(current_skip), "no reason given");
}

void tn_test_hex(const unsigned char *v, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[v[i] >> 4];
        out[2 * i + 1] = hex[v[i] & 15];
    }
    out[2 * n] = '\0';
}

const char *tn_test_shared_dir(void)
{
    static const char *dir = "../../../shared";
    return access(dir, R_OK) == 0 ? dir : NULL;
}

const char *tn_test_tmpdir(void)
{
    static char path[300];
    if (!tmp_root[0]) {
        snprintf(tmp_root, sizeof(tmp_root), "/tmp/tarn-unit-XXXXXX");
        if (!mkdtemp(tmp_root)) {
            perror("mkdtemp");
            exit(2);
        }
    }
    snprintf(path, sizeof(path), "%s/t%d", tmp_root, ++tmp_seq);
    if (mkdir(path, 0700)) {
        perror("mkdir");
        exit(2);
    }
    return path;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int wanted(const char *name, int argc, char **argv)
{
    if (argc < 2)
        return 1;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0, skipped = 0;

    for (int s = 0; s < nsuites; s++) {
        if (!wanted(suites[s].name, argc, argv))
            continue;
        for (const struct tn_test *t = suites[s].tests; t->name; t++) {
            current_failed = 0;
            current_skip[0] = '\0';
            t->fn();
            if (current_failed) {
                failed++;
                fprintf(stderr, "FAIL %s: %s\n", suites[s].name, t->name);
            } else if (current_skip[0]) {
                skipped++;
                printf("skip %s: %s -- %s\n", suites[s].name, t->name, current_skip);
            } else {
                passed++;
                printf("ok   %s: %s\n", suites[s].name, t->name);
            }
            fflush(stdout);
        }
    }
    if (tmp_root[0])
        nftw(tmp_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
