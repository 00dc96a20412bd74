/* test_catalog.c - unit tests for src/catalog: the Iceberg SQL catalog schema, create, load,
 * compare-and-swap, rename, drop and options. */
#include "tn_test.h"

#include <stdlib.h>

#include "catalog/catalog.h"

static struct tn_catalog *open_temp(char *path, size_t cap)
{
    struct tn_err err = {0};
    struct tn_catalog *cat = NULL;

    snprintf(path, cap, "%s/catalog.db", tn_test_tmpdir());
    CHECK_OK(tn_catalog_open(path, "tarn", &cat, &err));
    return cat;
}

static void test_create_load_swap(void)
{
    struct tn_err err = {0};
    char path[512];
    struct tn_catalog *cat = open_temp(path, sizeof(path));
    char *loc = NULL;

    CHECK_OK(tn_catalog_create(cat, "default", "t", "file:///w/t/m0.json", &err));
    CHECK_INT_EQ(tn_catalog_create(cat, "default", "t", "file:///other", &err), TN_EEXISTS);
    CHECK_CONTAINS(err.msg, "already exists");
    CHECK_OK(tn_catalog_load(cat, "default", "t", &loc, &err));
    CHECK_STR_EQ(loc, "file:///w/t/m0.json");
    free(loc);
    CHECK_OK(
        tn_catalog_swap(cat, "default", "t", "file:///w/t/m0.json", "file:///w/t/m1.json", &err));
    /* a second writer that still expects m0 loses */
    CHECK_INT_EQ(
        tn_catalog_swap(cat, "default", "t", "file:///w/t/m0.json", "file:///w/t/x.json", &err),
        TN_ECONFLICT);
    CHECK_OK(tn_catalog_load(cat, "default", "t", &loc, &err));
    CHECK_STR_EQ(loc, "file:///w/t/m1.json");
    free(loc);
    CHECK_INT_EQ(tn_catalog_load(cat, "default", "nope", &loc, &err), TN_ENOTABLE);
    CHECK_INT_EQ(tn_catalog_swap(cat, "default", "nope", "a", "b", &err), TN_ENOTABLE);
    CHECK_INT_EQ(tn_catalog_namespace_exists(cat, "default", &err), 1);
    CHECK_INT_EQ(tn_catalog_namespace_exists(cat, "other", &err), 0);
    tn_catalog_close(cat);
}

static void test_rename_drop_list_options(void)
{
    struct tn_err err = {0};
    char path[512];
    struct tn_catalog *cat = open_temp(path, sizeof(path));
    struct tn_catalog_entry *e = NULL;
    size_t n = 0;
    char *v = NULL;

    CHECK_OK(tn_catalog_create(cat, "a", "x", "loc1", &err));
    CHECK_OK(tn_catalog_create(cat, "b", "y", "loc2", &err));
    CHECK_OK(tn_catalog_set_option(cat, "a", "x", "path_map", "{}", &err));
    CHECK_OK(tn_catalog_rename(cat, "a", "x", "b", "z", &err));
    CHECK_INT_EQ(tn_catalog_rename(cat, "b", "z", "b", "y", &err), TN_EEXISTS);
    CHECK_OK(tn_catalog_get_option(cat, "b", "z", "path_map", &v, &err));
    CHECK_STR_EQ(v, "{}");
    free(v);
    CHECK_OK(tn_catalog_list(cat, NULL, &e, &n, &err));
    CHECK_INT_EQ(n, 2);
    if (n == 2) {
        CHECK_STR_EQ(e[0].table, "y");
        CHECK_STR_EQ(e[1].table, "z");
    }
    tn_catalog_entries_free(e, n);
    CHECK_OK(tn_catalog_drop(cat, "b", "z", &err));
    CHECK_INT_EQ(tn_catalog_drop(cat, "b", "z", &err), TN_ENOTABLE);
    CHECK_OK(tn_catalog_get_option(cat, "b", "z", "path_map", &v, &err));
    CHECK(v == NULL);
    CHECK_INT_EQ(tn_catalog_create_namespace(cat, "b", &err), TN_EEXISTS);
    CHECK_OK(tn_catalog_create_namespace(cat, "c", &err));
    tn_catalog_close(cat);
}

static void test_two_connections_share_one_file(void)
{
    struct tn_err err = {0};
    char path[512];
    struct tn_catalog *a = open_temp(path, sizeof(path));
    struct tn_catalog *b = NULL;
    char *loc = NULL;

    CHECK_OK(tn_catalog_open(path, "tarn", &b, &err));
    CHECK_OK(tn_catalog_create(a, "default", "t", "m0", &err));
    CHECK_OK(tn_catalog_swap(b, "default", "t", "m0", "m1", &err));
    CHECK_INT_EQ(tn_catalog_swap(a, "default", "t", "m0", "m2", &err), TN_ECONFLICT);
    CHECK_OK(tn_catalog_load(a, "default", "t", &loc, &err));
    CHECK_STR_EQ(loc, "m1");
    free(loc);
    tn_catalog_close(a);
    tn_catalog_close(b);
}

/* A load's statement is kept prepared: it must still see another connection's changes, and
 * when another connection moves the file to the V1 schema (a view), it must not take a view for
 * a table. */
static void test_kept_load_sees_other_connections(void)
{
    struct tn_err err = {0};
    char path[512];
    struct tn_catalog *a = open_temp(path, sizeof(path));
    struct tn_catalog *b = NULL;
    char *loc = NULL;

    CHECK_OK(tn_catalog_open(path, "tarn", &b, &err));
    CHECK_OK(tn_catalog_create(a, "default", "t", "m0", &err));
    CHECK_OK(tn_catalog_load(a, "default", "t", &loc, &err));
    CHECK_STR_EQ(loc, "m0");
    free(loc);
    CHECK_INT_EQ(tn_catalog_load_kind(a, TN_CATALOG_VIEW, "default", "v", &loc, &err), TN_ENOVIEW);
    CHECK_OK(tn_catalog_swap(b, "default", "t", "m0", "m1", &err));
    CHECK_OK(tn_catalog_load(a, "default", "t", &loc, &err));
    CHECK_STR_EQ(loc, "m1");
    free(loc);
    /* b adds Java's iceberg_type column (V1) and a view; a's kept statements predate both */
    CHECK_OK(tn_catalog_create_kind(b, TN_CATALOG_VIEW, "default", "v", "view0", &err));
    CHECK_INT_EQ(tn_catalog_load(a, "default", "v", &loc, &err), TN_ENOTABLE);
    CHECK_OK(tn_catalog_load_kind(a, TN_CATALOG_VIEW, "default", "v", &loc, &err));
    CHECK_STR_EQ(loc, "view0");
    free(loc);
    CHECK_OK(tn_catalog_drop(b, "default", "t", &err));
    CHECK_INT_EQ(tn_catalog_load(a, "default", "t", &loc, &err), TN_ENOTABLE);
    CHECK_OK(tn_catalog_create(b, "default", "t", "again", &err));
    CHECK_OK(tn_catalog_load(a, "default", "t", &loc, &err));
    CHECK_STR_EQ(loc, "again");
    free(loc);
    tn_catalog_close(a);
    tn_catalog_close(b);
}

/* Another connection moves the file to the V1 schema (it adds a view): a connection whose
 * schema predates that must not list, rename or drop the view as a table. */
static void test_other_connection_adds_a_view(void)
{
    struct tn_err err = {0};
    char path[512];
    struct tn_catalog *a = open_temp(path, sizeof(path));
    struct tn_catalog *b = NULL;
    struct tn_catalog_entry *e = NULL;
    size_t n = 0;

    CHECK_OK(tn_catalog_open(path, "tarn", &b, &err));
    CHECK_OK(tn_catalog_create(a, "default", "t", "m0", &err));
    CHECK_OK(tn_catalog_list(a, "default", &e, &n, &err));
    CHECK_INT_EQ(n, 1);
    tn_catalog_entries_free(e, n);
    CHECK_OK(tn_catalog_create_kind(b, TN_CATALOG_VIEW, "default", "v", "view0", &err));
    CHECK_OK(tn_catalog_list(a, "default", &e, &n, &err));
    CHECK_INT_EQ(n, 1);
    if (n == 1)
        CHECK_STR_EQ(e[0].table, "t");
    tn_catalog_entries_free(e, n);
    CHECK_INT_EQ(tn_catalog_rename(a, "default", "v", "default", "w", &err), TN_ENOTABLE);
    CHECK_INT_EQ(tn_catalog_drop(a, "default", "v", &err), TN_ENOTABLE);
    tn_catalog_close(a);
    tn_catalog_close(b);
}

static const struct tn_test catalog_tests[] = {
    {"create, load and compare-and-swap", test_create_load_swap},
    {"rename, drop, list and options", test_rename_drop_list_options},
    {"two connections share one file", test_two_connections_share_one_file},
    {"another connection adds a view", test_other_connection_adds_a_view},
    {"a kept load sees other connections' changes", test_kept_load_sees_other_connections},
    {NULL, NULL},
};
TN_SUITE(catalog_tests)
