/* table_int.h - what the files of the table module share and nothing else may use: publishing
 * a new metadata version, retry backoff, and metadata-only commits. */
#ifndef TN_TABLE_INT_H
#define TN_TABLE_INT_H

#include "table.h"

#define TN_COMMIT_ATTEMPTS 12

/* Sleep before retry "attempt" (1, 2, ...): exponential from 5 ms to 2 s, with jitter. */
void tn__backoff(int attempt);
/* Write "next" as the metadata version after "t" and swap the catalog pointer to it.
 * TN_ECONFLICT when another commit got there first; the file is deleted on any failure. */
int tn__publish(struct tn_warehouse *wh, const struct tn_table *t, const struct tn_metadata *next,
                struct tn_err *err);
/* A metadata-only commit (schema change, rollback, refs, properties): "mutate" edits a copy of
 * the current metadata JSON; it is validated, published, and retried on a lost race with the
 * mutation re-applied to the newer metadata. */
int tn__commit_metadata(struct tn_warehouse *wh, const char *ns, const char *name,
                        int (*mutate)(const struct tn_table *t, json_t *root, void *ctx,
                                      struct tn_err *err),
                        void *ctx, struct tn_err *err);

#endif /* TN_TABLE_INT_H */
