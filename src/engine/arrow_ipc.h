/* arrow_ipc.h - writes the Arrow IPC streaming format from Arrow C Data Interface structs (what
 * DuckDB's C API exports). A stream is one Schema message, one RecordBatch message per batch and
 * the end-of-stream marker. Each message is framed as 0xFFFFFFFF, the little-endian int32 length
 * of its FlatBuffer metadata (padded to 8 bytes), the metadata, then the body buffers, each
 * padded to 8 bytes. Internal to the engine module (engine.c and the unit tests include it).
 * No state: safe from any thread. */
#ifndef TN_ARROW_IPC_H
#define TN_ARROW_IPC_H

#include <stdint.h>

#include "core/core.h"

/* The Arrow C Data Interface, as its specification defines it (guarded so that another
 * definition of the same ABI can coexist). */
#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE           2
#define ARROW_FLAG_MAP_KEYS_SORTED    4

struct ArrowSchema {
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;
    void (*release)(struct ArrowSchema *);
    void *private_data;
};

struct ArrowArray {
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
    void (*release)(struct ArrowArray *);
    void *private_data;
};
#endif /* ARROW_C_DATA_INTERFACE */

/* Check that every column of "schema" (a struct schema, one child per column) has a type this
 * writer supports, and append the stream's Schema message to "out". TN_EINPUT names the first
 * column whose type is not supported (union, view and run-end encoded types, a dictionary inside
 * a dictionary's values) and says what to cast it to; nothing is appended then. */
int tn_arrow_ipc_schema(const struct ArrowSchema *schema, struct tn_buf *out, struct tn_err *err);

/* What one stream has sent: the last DictionaryBatch of each dictionary, so that a dictionary
 * that has not changed is not sent again. Zero-initialise; tn_arrow_ipc_release frees it. */
struct tn_arrow_ipc {
    struct tn_buf *dicts; /* by dictionary id */
    size_t ndicts;
};

/* Append one RecordBatch message holding "batch" (a struct array, one child per column, of the
 * schema that tn_arrow_ipc_schema accepted) to "out", after the DictionaryBatch messages of the
 * dictionaries that "w" has not sent yet in this form. Array offsets are honoured: the message
 * holds only the rows the array covers, with list and string offsets starting at 0.
 * TN_EINTERNAL when the array's shape does not match the schema; nothing is appended then. */
int tn_arrow_ipc_batch(struct tn_arrow_ipc *w, const struct ArrowSchema *schema,
                       const struct ArrowArray *batch, struct tn_buf *out, struct tn_err *err);
void tn_arrow_ipc_release(struct tn_arrow_ipc *w);

/* Append the end-of-stream marker (0xFFFFFFFF, then a zero length). */
void tn_arrow_ipc_end(struct tn_buf *out);

#endif /* TN_ARROW_IPC_H */
