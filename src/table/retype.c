/* retype.c - ALTER COLUMN ... TYPE for a change Iceberg's promotion rules forbid (long to
 * double, anything to string, double to decimal, ...): the column becomes a new field (a new
 * id under the same name, in the same place; the old field stays in the older schemas, so time
 * travel reads the old type) and every live row is rewritten with its value converted, deletes
 * applied, in one commit. A value that does not convert refuses the change (422) with its row. */
#include "table/table_int.h"

#include <stdlib.h>
#include <string.h>

/* Index of top-level column "column" in "schema", or -1. */
static int column_index(const struct tn_schema *schema, const char *column)
{
    for (size_t i = 0; i < schema->root.nfields; i++)
        if (strcmp(schema->root.fields[i].name, column) == 0)
            return (int)i;
    return -1;
}

/* TN_EINPUT when the column cannot be replaced: a key or a partition source. */
static int check_replaceable(const struct tn_table *t, const struct tn_schema *schema, int index,
                             struct tn_err *err)
{
    const struct tn_field *f = &schema->root.fields[index];

    for (size_t i = 0; i < schema->nidentifier; i++)
        if (schema->identifier_ids[i] == f->id)
            return tn_fail(err, TN_EINPUT,
                           "cannot change the type of '%s': it is an identifier (key) field",
                           f->name);
    for (size_t s = 0; s < t->meta->nspecs; s++)
        for (size_t i = 0; i < t->meta->specs[s].nfields; i++)
            if (t->meta->specs[s].fields[i].source_id == f->id)
                return tn_fail(err, TN_EINPUT,
                               "cannot change the type of '%s': the table is partitioned by it; "
                               "change the partitioning first",
                               f->name);
    if (!tn_type_is_primitive(f->type))
        return tn_fail(err, TN_EINPUT, "only primitive columns can change type");
    return 0;
}

/* The first live row whose value of "col" does not convert to "duck": TN_EUNPROCESSABLE. */
static int check_values(struct tn_session *s, const char *rows_sql, const char *col,
                        const char *duck, const char *column, const char *type_text,
                        struct tn_err *err)
{
    struct tn_buf q = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_rows *r = NULL;
    int rc;

    tn_buf_addstr(&q,
                  "SELECT _tn_n, CAST(_tn_v AS VARCHAR) FROM (SELECT row_number() OVER () AS "
                  "_tn_n, ",
                  NULL);
    tn_sql_ident(&q, col);
    tn_buf_addf(&q, NULL,
                " AS _tn_v FROM (%s) _tn_s) WHERE _tn_v IS NOT NULL AND "
                "TRY_CAST(_tn_v AS %s) IS NULL LIMIT 1",
                rows_sql, duck);
    rc = tn_engine_rows(s, q.buf, 1, &r, err);
    if (!rc && r->nrows == 1)
        rc = tn_fail(err, TN_EUNPROCESSABLE,
                     "cannot change '%s' to %s: the value '%.80s' of row %s does not convert; "
                     "nothing was changed (fix or delete that row first)",
                     column, type_text, tn_rows_get(r, 0, 1) ? tn_rows_get(r, 0, 1) : "",
                     tn_rows_get(r, 0, 0) ? tn_rows_get(r, 0, 0) : "?");
    tn_rows_free(r);
    tn_buf_release(&q);
    return rc;
}

/* A promotion Iceberg allows, a nested column or a missing one: tn_table_evolve's change. */
static int evolve_type(struct tn_warehouse *wh, const char *ns, const char *name,
                       const char *column, json_t *type, struct tn_err *err)
{
    struct tn_schema_change c = {.kind = TN_CHANGE_TYPE, .column = column, .type = type};

    return tn_table_evolve(wh, ns, name, &c, 1, err);
}

int tn_table_alter_type(struct tn_warehouse *wh, struct tn_session *s, const char *ns,
                        const char *name, const char *column, json_t *type, struct tn_err *err)
{
    char from[64], to[64];
    struct tn_table *t = NULL;
    struct tn_scan *scan = NULL;
    struct tn_type *parsed = NULL;
    struct tn_buf rows = TN_BUF_INIT(TN_CAP_SQL), select = TN_BUF_INIT(TN_CAP_SQL);
    struct tn_buf duck = TN_BUF_INIT(TN_CAP_SQL_TYPE);
    struct tn_schema_change changes[3];
    struct tn_write_options wo = {.mode = TN_WRITE_OVERWRITE};
    struct tn_commit_result res;
    const struct tn_schema *schema;
    json_t *updates = json_array(), *reqs = json_array();
    char *col = NULL;
    unsigned carry = 0; /* v3: the TN_SCAN_CARRY_ROW_ID the rows are read with */
    int index, rc = tn_table_load(wh, ns, name, &t, err);

    if (!rc)
        rc = tn__check_read_only(t, err);
    if (!rc)
        rc = tn__check_writable(t, err);
    if (rc)
        goto out;
    schema = tn_metadata_current_schema(t->meta);
    index = column_index(schema, column);
    rc = tn_type_parse(type, &parsed, err);
    if (rc)
        goto out;
    if (index >= 0 && tn_type_is_primitive(parsed) &&
        tn_type_is_primitive(schema->root.fields[index].type)) {
        tn_type_name(schema->root.fields[index].type, from, sizeof(from));
        tn_type_name(parsed, to, sizeof(to));
    }
    if (index < 0 || !tn_type_is_primitive(parsed) ||
        !tn_type_is_primitive(schema->root.fields[index].type) || tn__promotion_allowed(from, to)) {
        rc = evolve_type(wh, ns, name, column, type, err);
        goto out;
    }
    rc = check_replaceable(t, schema, index, err);
    if (!rc)
        rc = tn_type_duckdb(parsed, &duck, err);
    if (rc)
        goto out;
    col = tn__scan_column_name(schema, (size_t)index);
    if (t->meta->current_snapshot_id != -1) {
        rc = tn_table_scan_where(wh, t, -1, NULL, "_tn_s", &scan, err);
        /* v3: the rows keep their _row_id (their sequence number is the commit's: a value
           changed) */
        carry = scan ? tn__lineage_available(t, scan->schema, TN_SCAN_CARRY_ROW_ID) : 0;
        if (!rc) {
            tn_buf_addstr(&rows, "SELECT * FROM ", NULL);
            rc = tn_scan_sql(wh, t, scan, carry, &rows, err);
        }
        if (!rc)
            rc = check_values(s, rows.buf, col, duck.buf, column, to, err);
        /* the rows in the new schema's order, the column converted */
        tn_buf_addstr(&select, "SELECT ", NULL);
        for (size_t i = 0; !rc && i < schema->root.nfields; i++) {
            char *c = tn__scan_column_name(schema, i);
            if (i)
                tn_buf_addstr(&select, ", ", NULL);
            if ((int)i == index)
                tn_buf_addf(&select, NULL, "CAST(");
            tn_sql_ident(&select, c);
            if ((int)i == index) {
                tn_buf_addf(&select, NULL, " AS %s) AS ", duck.buf);
                tn_sql_ident(&select, c);
            }
            free(c);
        }
        if (carry)
            tn_buf_addstr(&select, ", " TN_LINEAGE_SOURCE_ROW_ID, NULL);
        tn_buf_addf(&select, NULL, " FROM (%s) _tn_r", rows.buf);
        /* a writer that commits meanwhile makes this a conflict, not a lost change */
        json_array_append_new(reqs, json_pack("{s:s, s:s, s:I}", "type", "assert-ref-snapshot-id",
                                              "ref", "main", "snapshot-id",
                                              (json_int_t)t->meta->current_snapshot_id));
    }
    if (rc)
        goto out;
    memset(changes, 0, sizeof(changes));
    changes[0].kind = TN_CHANGE_DROP;
    changes[0].column = column;
    changes[1].kind = TN_CHANGE_ADD;
    changes[1].column = column;
    changes[1].type = type;
    changes[1].doc = json_string_value(json_object_get(schema->root.fields[index].json, "doc"));
    changes[2].kind = TN_CHANGE_MOVE;
    changes[2].column = column;
    changes[2].first = index == 0;
    changes[2].after = index > 0 ? schema->root.fields[index - 1].name : NULL;
    rc = tn__evolve_updates(t, changes, 3, updates, err);
    if (!rc && t->meta->current_snapshot_id == -1) { /* no rows: the schema alone */
        rc = tn_table_evolve(wh, ns, name, changes, 3, err);
        goto out;
    }
    if (!rc)
        rc = tn__table_stage(t, reqs, updates, err);
    if (!rc)
        rc = tn__table_write(wh, s, t, select.buf, &wo, &res, err);
out:
    json_decref(updates);
    json_decref(reqs);
    free(col);
    tn_type_free(parsed);
    tn_scan_free(scan);
    tn_buf_release(&rows);
    tn_buf_release(&select);
    tn_buf_release(&duck);
    tn_table_free(t);
    return rc;
}
