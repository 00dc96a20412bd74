/* updates.h - changes to table metadata as lists of requirements and updates in the Iceberg
 * REST vocabulary (ICEBERG.md 7.3): every writer of tarn (ingest, DML, evolution, properties,
 * refs, maintenance, the REST catalog) describes its change this way, and the table module's one
 * commit function (src/table/commit.c) checks and applies it. Part of the iceberg module;
 * include "iceberg/iceberg.h". Nothing here does I/O. */
#ifndef TN_ICEBERG_UPDATES_H
#define TN_ICEBERG_UPDATES_H

/* Check every requirement of "reqs" (a JSON array, or NULL) against metadata "root":
 * TN_ECONFLICT with "Requirement failed: ..." when one does not hold, TN_EINPUT when one is
 * malformed. assert-create always fails here (the table exists). */
int tn_requirements_check(const json_t *root, const json_t *reqs, struct tn_err *err);
/* 1 when "reqs" holds assert-create (which must then be its only requirement), 0 when not,
 * -1 with "err" set when assert-create comes with others. */
int tn_requirements_create(const json_t *reqs, struct tn_err *err);

/* Apply "updates" (a JSON array, or NULL) in order to "root", which must be a shallow copy of
 * a parsed version's root (json_copy) or a tree the caller owns: each top-level container an
 * update changes is replaced by a shallow copy of itself first, so the version it was copied
 * from is never modified. Elements of the updates are shared, not copied. "root" is left
 * half-changed on failure (TN_EINPUT for a malformed or impossible update; TN_ECONFLICT for a
 * snapshot whose sequence number is not newer than the table's). */
int tn_updates_apply(json_t *root, const json_t *updates, struct tn_err *err);

/* The next version of "base": its root with "updates" applied, validated. With "base_location"
 * (where base is published) this is a version to publish: last-updated-ms moves forward and
 * the metadata-log records base_location; with NULL it is a staged view (what the table will
 * look like, e.g. to write data files with an evolved schema) and nothing else changes. The
 * new version's text reuses base's (tn_metadata_dump_new). */
int tn_metadata_update(const struct tn_metadata *base, const char *base_location,
                       const json_t *updates, struct tn_metadata **out, struct tn_err *err);

/* Append to "updates" the pair that adds snapshot "s" as the head of its branch:
 * add-snapshot and set-snapshot-ref (keeping the retention settings of "old_ref", the branch's
 * current ref JSON, when given). */
void tn_updates_add_snapshot(json_t *updates, const struct tn_snapshot_new *s,
                             const json_t *old_ref);
/* Append set-properties {key: value} (value NULL: remove-properties [key]) to "updates". */
void tn_updates_set_property(json_t *updates, const char *key, const char *value);

#endif /* TN_ICEBERG_UPDATES_H */
