/* view.h - Iceberg view metadata (the view spec, format version 1) as JSON: built from a REST
 * CreateViewRequest, changed by the REST view updates, and checked before it is written. */
#ifndef TN_ICEBERG_VIEW_H
#define TN_ICEBERG_VIEW_H

#include <jansson.h>

#include "core/core.h"

/* The first metadata of a view at "location" from a CreateViewRequest ({"name", "schema",
 * "view-version", "properties"}): a new view-uuid, version 1 current. *out is owned. */
int tn_view_metadata_new(const char *location, json_t *request, json_t **out, struct tn_err *err);

/* Check "requirements" (assert-view-uuid) against "root" and apply "updates" to it in place:
 * assign-uuid, upgrade-format-version, add-schema, set-location, set-properties,
 * remove-properties, add-view-version, set-current-view-version (-1: the last one added).
 * TN_ECONFLICT when a requirement fails, TN_EINPUT for anything else that is wrong. */
int tn_view_metadata_apply(json_t *root, json_t *requirements, json_t *updates, struct tn_err *err);

/* TN_EINPUT unless "root" is view metadata another engine can read: every required field,
 * a current version that exists, whose schema exists, with SQL representations (one per
 * dialect). */
int tn_view_metadata_check(json_t *root, struct tn_err *err);

/* The SQL of the current version's representation in "dialect" (or, when NULL or absent, the
 * first one), or NULL. Borrowed from "root". */
const char *tn_view_metadata_sql(json_t *root, const char *dialect);

/* The schema of the current version, or NULL. Borrowed from "root". */
json_t *tn_view_metadata_schema(json_t *root);

#endif /* TN_ICEBERG_VIEW_H */
