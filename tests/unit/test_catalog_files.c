/* test_catalog_files.c - unit tests for the catalog's guard against files changed under it: a
 * write after another process removed the -wal file (or replaced the database) is refused with
 * TN_EUNAVAILABLE instead of going to a file nobody will read again; roots the operator
 * allowed are kept. */
#include "tn_test.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "catalog/catalog.h"

static void test_writes_stop_when_the_wal_goes(void)
{
    struct tn_err err = {0};
    struct tn_catalog *cat = NULL;
    char *path = tn_asprintf("%s/guard.db", tn_test_tmpdir());
    char *wal = tn_asprintf("%s-wal", path);
    char *shm = tn_asprintf("%s-shm", path);
    char *loc = NULL;
    sqlite3 *other = NULL;

    CHECK_OK(tn_catalog_open(path, "tarn", &cat, &err));
    if (!cat)
        goto out;
    CHECK_OK(tn_catalog_create(cat, "default", "t", "file:///w/t/m0.json", &err));
    /* what a process that takes itself for the last user does when it closes */
    CHECK_INT_EQ(sqlite3_open(path, &other), SQLITE_OK);
    CHECK_INT_EQ(sqlite3_exec(other, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(other);
    unlink(wal);
    unlink(shm);
    CHECK_INT_EQ(
        tn_catalog_swap(cat, "default", "t", "file:///w/t/m0.json", "file:///w/t/m1.json", &err),
        TN_EUNAVAILABLE);
    CHECK_CONTAINS(err.msg, "changed under this process");
    CHECK_INT_EQ(tn_catalog_create(cat, "default", "u", "file:///w/u/m0.json", &err),
                 TN_EUNAVAILABLE);
    CHECK_INT_EQ(tn_catalog_add_root(cat, "file:///x", &err), TN_EUNAVAILABLE);
    /* reads still answer, from what was committed */
    CHECK_OK(tn_catalog_load(cat, "default", "t", &loc, &err));
    CHECK_STR_EQ(loc, "file:///w/t/m0.json");
    tn_catalog_close(cat);
    cat = NULL;
    /* a fresh open sees every acknowledged commit and writes again */
    CHECK_OK(tn_catalog_open(path, "tarn", &cat, &err));
    free(loc);
    loc = NULL;
    CHECK_OK(tn_catalog_load(cat, "default", "t", &loc, &err));
    CHECK_STR_EQ(loc, "file:///w/t/m0.json");
    CHECK_OK(
        tn_catalog_swap(cat, "default", "t", "file:///w/t/m0.json", "file:///w/t/m1.json", &err));
out:
    tn_catalog_close(cat);
    free(loc);
    free(path);
    free(wal);
    free(shm);
}

static void test_allowed_roots_are_kept(void)
{
    struct tn_err err = {0};
    struct tn_catalog *cat = NULL;
    char *path = tn_asprintf("%s/roots.db", tn_test_tmpdir());
    char **roots = NULL;
    size_t n = 0;

    CHECK_OK(tn_catalog_open(path, "tarn", &cat, &err));
    if (cat) {
        CHECK_OK(tn_catalog_add_root(cat, "file:///data/b", &err));
        CHECK_OK(tn_catalog_add_root(cat, "file:///data/a", &err));
        CHECK_OK(tn_catalog_add_root(cat, "file:///data/a", &err));
        CHECK_OK(tn_catalog_roots(cat, &roots, &n, &err));
        CHECK_INT_EQ(n, 2);
        if (n == 2) {
            CHECK_STR_EQ(roots[0], "file:///data/a");
            CHECK_STR_EQ(roots[1], "file:///data/b");
        }
        tn_catalog_strings_free(roots, n);
    }
    tn_catalog_close(cat);
    free(path);
}

static const struct tn_test catalog_files_tests[] = {
    {"writes stop when the -wal file is removed under the catalog",
     test_writes_stop_when_the_wal_goes},
    {"roots the operator allowed are kept", test_allowed_roots_are_kept},
    {NULL, NULL},
};
TN_SUITE(catalog_files_tests)
