/* test_view.c - Iceberg view metadata (iceberg/view.c): creation from a REST request, the
 * updates and requirements of a replace, and what the checks refuse. */
#include "iceberg/view.h"
#include "tn_test.h"

#include <stdlib.h>

static json_t *request(const char *reps)
{
    char *text = NULL;
    json_t *r;

    if (asprintf(&text,
                 "{\"name\": \"v\", \"schema\": {\"type\": \"struct\", \"schema-id\": 7, "
                 "\"fields\": [{\"id\": 1, \"name\": \"x\", \"type\": \"long\", \"required\": "
                 "false}]}, \"view-version\": {\"version-id\": 1, \"timestamp-ms\": 5, "
                 "\"schema-id\": 7, \"summary\": {}, \"representations\": %s, "
                 "\"default-namespace\": [\"db\"]}}",
                 reps) < 0)
        return NULL;
    r = json_loads(text, 0, NULL);
    free(text);
    return r;
}

static void test_create(void)
{
    struct tn_err err = {0};
    json_t *req = request("[{\"type\": \"sql\", \"sql\": \"SELECT 1 AS x\", \"dialect\": "
                          "\"spark\"}, {\"type\": \"sql\", \"sql\": \"SELECT 1 x\", \"dialect\": "
                          "\"trino\"}]");
    json_t *root = NULL;

    CHECK(tn_view_metadata_new("file:///w/db/v", req, &root, &err) == 0);
    CHECK(json_integer_value(json_object_get(root, "current-version-id")) == 1);
    /* the schema gets the metadata's own id, and the version points at it */
    CHECK(json_integer_value(json_object_get(json_array_get(json_object_get(root, "schemas"), 0),
                                             "schema-id")) == 0);
    CHECK(json_integer_value(json_object_get(json_array_get(json_object_get(root, "versions"), 0),
                                             "schema-id")) == 0);
    CHECK(json_array_size(json_object_get(root, "version-log")) == 1);
    CHECK(strcmp(tn_view_metadata_sql(root, "TRINO"), "SELECT 1 x") == 0);
    CHECK(strcmp(tn_view_metadata_sql(root, "duckdb"), "SELECT 1 AS x") == 0);
    CHECK(json_object_get(root, "tn-last-added-schema") == NULL);
    json_decref(root);
    json_decref(req);
}

static void test_refused(void)
{
    struct tn_err err = {0};
    json_t *req = request("[{\"type\": \"sql\", \"sql\": \"SELECT 1\", \"dialect\": \"spark\"}, "
                          "{\"type\": \"sql\", \"sql\": \"SELECT 2\", \"dialect\": \"spark\"}]");
    json_t *root = NULL;

    CHECK(tn_view_metadata_new("file:///w/db/v", req, &root, &err) == TN_EINPUT);
    CHECK(strstr(err.msg, "two representations") != NULL);
    json_decref(req);
    req = request("[]");
    CHECK(tn_view_metadata_new("file:///w/db/v", req, &root, &err) == TN_EINPUT);
    json_decref(req);
    CHECK(tn_view_metadata_new("file:///w/db/v", NULL, &root, &err) == TN_EINPUT);
}

static void test_replace(void)
{
    struct tn_err err = {0};
    json_t *req = request("[{\"type\": \"sql\", \"sql\": \"SELECT 1 AS x\", \"dialect\": "
                          "\"spark\"}]");
    json_t *root = NULL, *updates, *reqs;
    char *text = NULL;

    CHECK(tn_view_metadata_new("file:///w/db/v", req, &root, &err) == 0);
    json_decref(req);
    if (!root)
        return;
    /* -1 without a version added in the same change is refused */
    updates = json_loads("[{\"action\": \"set-current-view-version\", \"view-version-id\": -1}]", 0,
                         NULL);
    CHECK(tn_view_metadata_apply(root, NULL, updates, &err) == TN_EINPUT);
    json_decref(updates);
    if (asprintf(&text, "[{\"type\": \"assert-view-uuid\", \"uuid\": \"%s\"}]",
                 json_string_value(json_object_get(root, "view-uuid"))) < 0)
        return;
    reqs = json_loads(text, 0, NULL);
    free(text);
    updates =
        json_loads("[{\"action\": \"add-view-version\", \"view-version\": {\"version-id\": 9, "
                   "\"timestamp-ms\": 6, \"schema-id\": 0, \"summary\": {}, \"representations\": "
                   "[{\"type\": \"sql\", \"sql\": \"SELECT 2 AS x\", \"dialect\": \"spark\"}], "
                   "\"default-namespace\": [\"db\"]}}, {\"action\": \"set-current-view-version\", "
                   "\"view-version-id\": -1}]",
                   0, NULL);
    CHECK(tn_view_metadata_apply(root, reqs, updates, &err) == 0);
    CHECK(json_integer_value(json_object_get(root, "current-version-id")) == 2);
    CHECK(json_array_size(json_object_get(root, "version-log")) == 2);
    CHECK(strcmp(tn_view_metadata_sql(root, "spark"), "SELECT 2 AS x") == 0);
    /* the same version again is the existing one: no third version */
    CHECK(tn_view_metadata_apply(root, reqs, updates, &err) == 0);
    CHECK(json_array_size(json_object_get(root, "versions")) == 2);
    json_decref(updates);
    json_decref(reqs);
    reqs = json_loads("[{\"type\": \"assert-view-uuid\", \"uuid\": \"other\"}]", 0, NULL);
    CHECK(tn_view_metadata_apply(root, reqs, NULL, &err) == TN_ECONFLICT);
    json_decref(reqs);
    json_decref(root);
}

static const struct tn_test view_tests[] = {
    {"a view's first metadata: ids assigned, SQL per dialect", test_create},
    {"a view with no or duplicate representations is refused", test_refused},
    {"replace: add-view-version and -1, the uuid requirement", test_replace},
    {NULL, NULL},
};
TN_SUITE(view_tests)
