/* hudi_int.h - what the files of the hudi module share: the timeline and the schema. */
#ifndef TN_HUDI_INT_H
#define TN_HUDI_INT_H

#include "hudi/hudi.h"
#include "table/table.h"

#include <stdlib.h>

/* One completed instant of the timeline. */
struct tn__hudi_instant {
    char ts[32];     /* requested time, e.g. 20240418173551906 */
    char done[32];   /* completion time (layout 2), "" when the file name does not say */
    char action[32]; /* commit, deltacommit, replacecommit, clean, rollback, ... */
    char *uri;       /* the completed instant's file */
};

/* A table's settings, from hoodie.properties. */
struct tn__hudi_table {
    char *location; /* base path, no trailing '/' */
    json_t *props;
    int version;      /* hoodie.table.version */
    int layout;       /* 1: instants in .hoodie/, 2: in .hoodie/timeline/ */
    int mor;          /* MERGE_ON_READ */
    int meta_fields;  /* hoodie.populate.meta.fields */
    json_t *archived; /* the files of the archived timeline (URIs; empty: nothing archived) */
};

/* Read and check hoodie.properties of the table at "location" (TN_EUNPROCESSABLE for a version
 * or layout tarn does not read). Release with tn__hudi_table_release. */
int tn__hudi_table_open(struct tn_warehouse *wh, const char *location, struct tn__hudi_table *h,
                        struct tn_err *err);
void tn__hudi_table_release(struct tn__hudi_table *h);
/* How Merge-on-Read records of one key merge, as Hudi's snapshot query does: *out NULL for commit
 * time (a later instant wins: OverwriteWithLatestAvroPayload, COMMIT_TIME_ORDERING), else the
 * ordering fields as a JSON array (the largest ordering value wins, a later instant on a tie:
 * DefaultHoodieRecordPayload, EventTimeAvroPayload, EVENT_TIME_ORDERING). TN_EUNPROCESSABLE for
 * a custom payload class or merge mode, naming it. */
int tn__hudi_ordering_fields(const struct tn__hudi_table *h, json_t **out, struct tn_err *err);
/* The completed instants, in instant order (*out: *n, free with tn__hudi_instants_free). */
int tn__hudi_timeline(struct tn_warehouse *wh, const struct tn__hudi_table *h,
                      struct tn__hudi_instant **out, size_t *n, struct tn_err *err);
void tn__hudi_instants_free(struct tn__hudi_instant *v, size_t n);
/* Whether an action changes the table's data (commit, deltacommit, replacecommit). */
int tn__hudi_is_data_action(const char *action);
/* The commit metadata of instant "in" as JSON (an empty object for an empty file). */
int tn__hudi_commit_metadata(struct tn_warehouse *wh, const struct tn__hudi_table *h,
                             const struct tn__hudi_instant *in, json_t **out, struct tn_err *err);
/* Commit metadata bytes as JSON: JSON text (layout 1) or an Avro object-container file with one
 * record (layout 2); an empty object for no bytes. */
int tn__hudi_metadata_parse(const void *data, size_t len, json_t **out, struct tn_err *err);
/* The first instant of the active timeline that writes data (commit, deltacommit, replacecommit
 * or compaction, in any state), or "" when there is none. Hudi counts a file slice whose instant
 * is older as committed: its instant was archived. */
int tn__hudi_first_active(struct tn_warehouse *wh, const struct tn__hudi_table *h, char out[32],
                          struct tn_err *err);
/* The file groups that completed replacecommits of the archived timeline replaced, as an object
 * "partition\x1ffileId" -> true (*out; empty when nothing is archived). TN_EUNPROCESSABLE,
 * naming the file, when an archive file cannot be read: a file group it replaced would read as
 * live. (archive.c) */
int tn__hudi_archived_replaced(struct tn_warehouse *wh, const struct tn__hudi_table *h,
                               struct tn_session **session, json_t **out, struct tn_err *err);
/* Instant time (yyyyMMddHHmmss[SSS], read as UTC) in ms since 1970; -1 when malformed. */
int64_t tn__hudi_instant_ms(const char *ts);

/* The Iceberg schema (field ids from 1) and name mapping of Avro schema text "avro_text", with
 * the five _hoodie_* meta columns first when "meta_fields" is set. */
int tn__hudi_schema(const char *avro_text, int meta_fields, json_t **schema, json_t **mapping,
                    struct tn_err *err);

#endif /* TN_HUDI_INT_H */
