/* limits.h - the limits tarn puts on what it is given, named in one place: the shape of an
 * ingested file (checked by src/ingest/input_limits.c before DuckDB reads it; docs/API.md lists
 * them with their defaults and flags), and the cap of every growable buffer (struct tn_buf,
 * core.h) by the kind of input that feeds it. */
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

/*---- Buffers: the cap (TN_BUF_INIT's argument) of each kind of input ----
 * A buffer fed by what tarn is given is capped by the kind of input it holds; growing past the
 * cap is TN_ETOOBIG (many callers build text and check nothing, so each cap is set above what the
 * input's own limit lets through: a request body, the shell's line, a metadata or manifest
 * file). Buffers that hold only tarn's own text say so with a cap of 0 under a name. */

/* Only tarn's own text: SQL and JSON made from constants, numbers and values it already holds
 * within their own caps (names, paths, schemas), pages and metrics it serves. Unbounded. */
#define TN_CAP_INTERNAL 0
/* A query's result as tarn encodes or prints it (Arrow batches, CSV, table cells): DuckDB holds
 * the result first, within its memory limit. Unbounded. */
#define TN_CAP_RESULT 0
/* One name or identifier read from SQL, a DuckDB type or a request (tarn's table and column
 * names are at most TN_NAME_MAX bytes; a longer name is cut at the cap). */
#define TN_CAP_NAME (64 * 1024)
/* A column type as ALTER TABLE ... ADD COLUMN writes it. */
#define TN_CAP_SQL_TYPE 1024
/* One value given by a request or the command line (a timestamp, a snapshot, a type, a key
 * list, a literal of ALTER TABLE), or a short statement around it: the shell's line is at most
 * 16 MiB, a JSON request body 1 MiB. */
#define TN_CAP_VALUE (64L * 1024 * 1024)
/* SQL and text tarn builds from the user's SQL (a request's expressions included) and from the
 * tables it reads: their schemas, and their manifests' file lists, bounds and partition values
 * (each manifest at most 512 MiB). */
#define TN_CAP_SQL (1024L * 1024 * 1024)
/* A table's metadata JSON as read from storage (at most 256 MiB), with its large integers
 * quoted for the JSON parser. */
#define TN_CAP_METADATA (512L * 1024 * 1024)
/* A tarn server's answer that the command line keeps in memory (--remote). */
#define TN_CAP_RESPONSE (512L * 1024 * 1024)
/* A list shown in an error message (the columns or refs a table has). */
#define TN_CAP_MESSAGE_LIST 4096

#endif /* TN_LIMITS_H */
