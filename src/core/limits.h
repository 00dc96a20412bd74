/* limits.h - the limits tarn puts on what it is given, named in one place: the shape of an
 * ingested file (checked by src/table/input_limits.c before DuckDB reads it). docs/API.md
 * lists them with their defaults and flags. */
#ifndef TN_LIMITS_H
#define TN_LIMITS_H

/*---- Ingested files (CSV, JSON, NDJSON; gzip or zstd compressed or not) ----*/

/* Nested JSON arrays and objects: DuckDB's type inference recurses once per level, and some
 * tens of thousands of levels overflow its stack. Real data stays far below. */
#define TN_INPUT_DEPTH_MAX 64
/* Columns: fields of a CSV file's first record, distinct keys of a JSON file's records. DuckDB's
 * sniffer takes minutes over 100,000 columns. */
#define TN_INPUT_COLUMNS_MAX 10000
/* JSON records whose keys are counted: read_json's own sample (its sample_size). */
#define TN_INPUT_KEY_SAMPLE 20480
/* The longest line of a CSV file: DuckDB's max_line_size sizes its buffers with it. */
#define TN_INPUT_LINE_MAX (64L * 1024 * 1024)
/* How large a compressed file may grow when decompressed (--max-decompressed overrides it):
 * RATIO times its compressed size, but at least FLOOR (ratios mean little for small files) and
 * at most CEILING. */
#define TN_INPUT_DECOMPRESSED_RATIO   20
#define TN_INPUT_DECOMPRESSED_FLOOR   (64ULL * 1024 * 1024)
#define TN_INPUT_DECOMPRESSED_CEILING (100ULL * 1024 * 1024 * 1024)

#endif /* TN_LIMITS_H */
