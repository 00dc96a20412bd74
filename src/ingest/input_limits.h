/* input_limits.h - a cheap pass over a file to ingest, before DuckDB reads it, that refuses the
 * shapes DuckDB handles badly (see core/limits.h): JSON nested too deep, too many columns, CSV
 * lines too long, and compressed files that grow too large (decompressed here, for DuckDB to
 * read the plain file). Used by source.c. */
#ifndef TN_INPUT_LIMITS_H
#define TN_INPUT_LIMITS_H

#include <stdint.h>

#include "core/core.h"
#include "core/limits.h"
#include "table/table.h"

struct tn_input_scan {
    /* Set by tn_input_scan_init. */
    enum tn_source_format format; /* CSV, JSON or NDJSON (Parquet is not scanned) */
    char delim[8];                /* CSV: the delimiter the user gave, or "": the candidates */
    /* What was found. */
    uint64_t bytes;        /* bytes scanned */
    uint64_t longest_line; /* CSV: as tn_source_track_lines measures it */
    uint64_t columns;      /* CSV: fields of the first record; JSON: distinct record keys */
    int depth_max;         /* JSON: the deepest nesting of arrays and objects */
    uint64_t too_deep_at;  /* JSON: the offset where the nesting first passed the limit, +1 */
    /* The scanner's state. */
    uint64_t line_len;
    int record_done, line_done, in_quotes;
    uint64_t quoted[5], raw[5]; /* CSV: delimiters outside quotes, and on the first line */
    uint32_t window;            /* CSV: the last bytes, to match a multi-byte delimiter */
    int depth, in_string, escaped, in_key, expect_key;
    unsigned char open[TN_INPUT_DEPTH_MAX + 1]; /* JSON: '[' or '{' at each depth */
    uint64_t records, key_hash;
    uint64_t *keys; /* JSON: hashes of the keys seen (open addressing) */
};

/* Start a scan for "format" (CSV, JSON or NDJSON); "delim" is the CSV delimiter the user gave
 * or NULL / "". */
void tn_input_scan_init(struct tn_input_scan *sc, enum tn_source_format format, const char *delim);
/* Scan the file's next "n" bytes. Fails as soon as a limit is passed: TN_EINPUT for too many
 * columns, TN_ETOOBIG for a CSV line of TN_INPUT_LINE_MAX bytes. Nesting is reported by
 * tn_input_scan_finish, with the whole depth found. */
int tn_input_scan_feed(struct tn_input_scan *sc, const void *data, size_t n, struct tn_err *err);
/* The checks that need the whole file (nesting, a first record without a newline). */
int tn_input_scan_finish(struct tn_input_scan *sc, struct tn_err *err);
void tn_input_scan_release(struct tn_input_scan *sc);

/* The longest CSV record of the local file "path" in *longest: bytes from a record's start to
 * the newline that ends it outside quotes ("quote", with "escape" before a quote inside one;
 * escape == quote is the doubled quote). A quoted field may hold newlines, so a record can be far
 * longer than any of its lines; DuckDB's max_line_size bounds records. Reads the whole file, so
 * it is measured only when a read failed (source.c). */
int tn_input_longest_record(const char *path, char quote, char escape, uint64_t *longest,
                            struct tn_err *err);

/* The decompressed-size limit for a compressed file of "size" bytes when none is given:
 * TN_INPUT_DECOMPRESSED_RATIO times it, within FLOOR and CEILING. */
uint64_t tn_input_decompressed_default(uint64_t size);

/* Scan the local file "path". When "compression" is "gzip" or "zstd", it is decompressed into
 * a new file under "temp_dir" (created if missing) as it is scanned; *plain_path gets that
 * file's name (the caller deletes and frees it), else NULL. A decompressed size over
 * "max_decompressed" bytes (0: the default for the file's size) is refused with TN_ETOOBIG,
 * one the disk cannot hold with TN_EUNAVAILABLE, corrupt compressed data with TN_EINPUT. */
int tn_input_scan_file(struct tn_input_scan *sc, const char *path, const char *compression,
                       uint64_t max_decompressed, const char *temp_dir, char **plain_path,
                       struct tn_err *err);

#endif /* TN_INPUT_LIMITS_H */
