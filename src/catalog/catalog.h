/* catalog.h - the table catalog: a SQLite database in the Iceberg SQL/JDBC catalog schema
 * (iceberg_tables, iceberg_namespace_properties), so that PyIceberg's SqlCatalog and Java's
 * JdbcCatalog can open the same file. A commit publishes a new metadata file by compare-and-swap
 * of metadata_location. tarn's own per-table options (the path map of a registered table) live
 * in an extra table, tarn_table_options, that other catalogs ignore.
 *
 * The database runs in WAL mode with a busy timeout, so several processes can share it. A
 * struct tn_catalog may be used from several threads (SQLite serialises access to it). */
#ifndef TN_CATALOG_H
#define TN_CATALOG_H

#include "core/core.h"

struct tn_catalog;

struct tn_catalog_entry {
    char *ns;
    char *table;
    char *metadata_location;
};

/* Open (creating when absent) the catalog database at "path"; "name" is the catalog_name
 * column value (tarn uses "tarn"). */
int tn_catalog_open(const char *path, const char *name, struct tn_catalog **out,
                    struct tn_err *err);
void tn_catalog_close(struct tn_catalog *cat);

/*---- Namespaces ----*/
/* Create namespace "ns" with the property exists=true; TN_EEXISTS when it exists. */
int tn_catalog_create_namespace(struct tn_catalog *cat, const char *ns, struct tn_err *err);
/* 1 when the namespace has properties or tables, 0 when not, negative on error. */
int tn_catalog_namespace_exists(struct tn_catalog *cat, const char *ns, struct tn_err *err);

/*---- Tables ----*/
/* The current metadata location of ns.table (caller frees); TN_ENOTABLE when absent. */
int tn_catalog_load(struct tn_catalog *cat, const char *ns, const char *table, char **out,
                    struct tn_err *err);
/* Insert a new table row pointing at "location"; TN_EEXISTS when ns.table exists. Creates the
 * namespace's exists=true row when the namespace has none. */
int tn_catalog_create(struct tn_catalog *cat, const char *ns, const char *table,
                      const char *location, struct tn_err *err);
/* Publish "new_location" if the current location is still "expected": TN_ECONFLICT when another
 * writer got there first (the caller may re-read and retry), TN_ENOTABLE when the table is gone. */
int tn_catalog_swap(struct tn_catalog *cat, const char *ns, const char *table, const char *expected,
                    const char *new_location, struct tn_err *err);
int tn_catalog_drop(struct tn_catalog *cat, const char *ns, const char *table, struct tn_err *err);
int tn_catalog_rename(struct tn_catalog *cat, const char *ns, const char *table, const char *new_ns,
                      const char *new_table, struct tn_err *err);
/* Every table (of namespace "ns", or all when NULL), ordered by namespace and name. */
int tn_catalog_list(struct tn_catalog *cat, const char *ns, struct tn_catalog_entry **out,
                    size_t *out_n, struct tn_err *err);
void tn_catalog_entries_free(struct tn_catalog_entry *e, size_t n);

/*---- Tables or views ----*/
/* The catalog keeps Iceberg views beside tables (iceberg_type VIEW, Java's V1 schema; the first
 * view migrates a V0 file by adding that column, as JdbcCatalog does). Tables and views share
 * one name space: a name is one or the other. The functions above are these with
 * TN_CATALOG_TABLE; for views a missing name is TN_ENOVIEW. */
enum tn_catalog_kind { TN_CATALOG_TABLE, TN_CATALOG_VIEW };
int tn_catalog_load_kind(struct tn_catalog *cat, enum tn_catalog_kind kind, const char *ns,
                         const char *name, char **out, struct tn_err *err);
int tn_catalog_create_kind(struct tn_catalog *cat, enum tn_catalog_kind kind, const char *ns,
                           const char *name, const char *location, struct tn_err *err);
int tn_catalog_swap_kind(struct tn_catalog *cat, enum tn_catalog_kind kind, const char *ns,
                         const char *name, const char *expected, const char *new_location,
                         struct tn_err *err);
int tn_catalog_drop_kind(struct tn_catalog *cat, enum tn_catalog_kind kind, const char *ns,
                         const char *name, struct tn_err *err);
int tn_catalog_rename_kind(struct tn_catalog *cat, enum tn_catalog_kind kind, const char *ns,
                           const char *name, const char *new_ns, const char *new_name,
                           struct tn_err *err);
int tn_catalog_list_kind(struct tn_catalog *cat, enum tn_catalog_kind kind, const char *ns,
                         struct tn_catalog_entry **out, size_t *out_n, struct tn_err *err);

/*---- tarn's per-table options ----*/
/* Set (or with value NULL, remove) option "key" of ns.table. */
int tn_catalog_set_option(struct tn_catalog *cat, const char *ns, const char *table,
                          const char *key, const char *value, struct tn_err *err);
/* The option's value (caller frees) or NULL in *out when unset. */
int tn_catalog_get_option(struct tn_catalog *cat, const char *ns, const char *table,
                          const char *key, char **out, struct tn_err *err);

/*---- Namespaces for the Iceberg REST catalog (nested levels are joined with '.') ----*/
/* Create namespace "ns" with "n" properties kv[0]=kv[1], kv[2]=kv[3], ... (exists=true when
 * n is 0), in one transaction. TN_EEXISTS when the namespace exists. */
int tn_catalog_create_namespace_props(struct tn_catalog *cat, const char *ns, const char *const *kv,
                                      size_t n, struct tn_err *err);
/* The properties of "ns" as *out_n key/value pairs in *out (kv[2i], kv[2i+1]; free with
 * tn_catalog_strings_free(*out, 2 * *out_n)), ordered by key. */
int tn_catalog_namespace_properties(struct tn_catalog *cat, const char *ns, char ***out,
                                    size_t *out_n, struct tn_err *err);
/* Set (or with value NULL remove) property "key" of "ns"; *out_changed (may be NULL) is 1 when
 * a row was written or removed. */
int tn_catalog_set_namespace_property(struct tn_catalog *cat, const char *ns, const char *key,
                                      const char *value, int *out_changed, struct tn_err *err);
/* Every namespace that has properties or tables, sorted (caller frees with
 * tn_catalog_strings_free). */
int tn_catalog_list_namespaces(struct tn_catalog *cat, char ***out, size_t *out_n,
                               struct tn_err *err);
/* Drop "ns" (its property rows): TN_ENONAMESPACE when it does not exist, TN_ENOTEMPTY when a
 * table lives in it or in a namespace nested under it. */
int tn_catalog_drop_namespace(struct tn_catalog *cat, const char *ns, struct tn_err *err);
void tn_catalog_strings_free(char **v, size_t n);

/* One pointer move of tn_catalog_swap_many. */
struct tn_catalog_swap {
    const char *ns, *table, *expected, *new_location;
};
/* Compare-and-swap every table in one SQLite transaction: all move or none does. TN_ECONFLICT
 * (naming the table) when any one of them no longer points at its "expected". */
int tn_catalog_swap_many(struct tn_catalog *cat, const struct tn_catalog_swap *swaps, size_t n,
                         struct tn_err *err);

/* Roots outside the warehouse that the operator allowed tables to live in (recorded when a
 * table is registered from the command line with them, never from a request): the storage
 * sandbox and DuckDB reach them too. tn_catalog_roots gives them (free with
 * tn_catalog_strings_free). */
int tn_catalog_add_root(struct tn_catalog *cat, const char *root, struct tn_err *err);
int tn_catalog_roots(struct tn_catalog *cat, char ***out, size_t *out_n, struct tn_err *err);

#endif /* TN_CATALOG_H */
