/* reader.c - decode Avro object container files (see avro.h): parse the writer schema from the
 * header with jansson, then decode every block (null, deflate, snappy or zstandard) into a tree of
 * struct tn_avro_value allocated from an arena the file owns.
 *
 * The input is hostile until proven otherwise: every length is checked against the bytes left
 * before it is used, varints are at most 10 bytes, item counts are checked against the smallest
 * encoding of their type and against a budget of value nodes, decompressed bytes are capped at
 * TN_AVRO_MAX_DECODED in total, and nesting at TN_AVRO_MAX_DEPTH. A file is immutable once read,
 * so several threads may read one tn_avro_file. */
#include "avro.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

/* Value nodes may take as much memory as decoded bytes. */
#define MAX_VALUES  ((int64_t)(TN_AVRO_MAX_DECODED / (long)sizeof(struct tn_avro_value)))
#define ARENA_CHUNK (64 * 1024)
#define SYNC_LEN    16

static const unsigned char magic[4] = {'O', 'b', 'j', 1};

/*---- Arena: many small allocations freed together ----*/

struct chunk {
    struct chunk *next;
    size_t used, cap;
    max_align_t data[];
};

struct arena {
    struct chunk *head; /* the chunk allocations come from; big ones get their own behind it */
};

static void *arena_alloc(struct arena *a, size_t n)
{
    struct chunk *c = a->head;
    void *p;

    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    if (n > ARENA_CHUNK / 4) {
        c = tn_malloc(sizeof(*c) + n);
        c->used = c->cap = n;
        if (a->head) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = NULL;
            a->head = c;
        }
        return c->data;
    }
    if (!c || c->cap - c->used < n) {
        c = tn_malloc(sizeof(*c) + ARENA_CHUNK);
        c->used = 0;
        c->cap = ARENA_CHUNK;
        c->next = a->head;
        a->head = c;
    }
    p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

static void *arena_zalloc(struct arena *a, size_t n)
{
    void *p = arena_alloc(a, n);
    memset(p, 0, n);
    return p;
}

static char *arena_strndup(struct arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static void arena_release(struct arena *a)
{
    struct chunk *c = a->head;
    while (c) {
        struct chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}

/*---- The file's private part ----*/

struct meta_entry {
    const char *key;
    const char *value; /* NUL-terminated copy */
    size_t len;
};

struct file_priv {
    struct arena arena;
    struct meta_entry *meta;
    size_t nmeta;
    void **owned; /* decompressed blocks and the records array */
    size_t nowned, capowned;
};

static void own(struct file_priv *fp, void *p)
{
    if (fp->nowned == fp->capowned) {
        fp->capowned = fp->capowned ? 2 * fp->capowned : 16;
        fp->owned = tn_realloc(fp->owned, fp->capowned * sizeof(*fp->owned));
    }
    fp->owned[fp->nowned++] = p;
}

/*---- Schema ----*/

/* A schema node: the public part first, so a tn_avro_schema pointer converts back. */
struct snode {
    struct tn_avro_schema s;
    size_t min_size; /* fewest bytes one value can take; 0 while a named type is being defined */
};

#define PRIM(t, min)                                                                               \
    {                                                                                              \
        .s = {.type = (t), .element_id = -1, .key_id = -1, .value_id = -1}, .min_size = (min)      \
    }
static const struct snode prims[] = {
    PRIM(TN_AVRO_NULL, 0),  PRIM(TN_AVRO_BOOLEAN, 1), PRIM(TN_AVRO_INT, 1),
    PRIM(TN_AVRO_LONG, 1),  PRIM(TN_AVRO_FLOAT, 4),   PRIM(TN_AVRO_DOUBLE, 8),
    PRIM(TN_AVRO_BYTES, 1), PRIM(TN_AVRO_STRING, 1),
};
static const char *const prim_names[] = {"null",  "boolean", "int",   "long",
                                         "float", "double",  "bytes", "string"};
#define NPRIMS      (sizeof(prims) / sizeof(prims[0]))
#define STRING_NODE (&prims[7])

static const struct snode *snode_of(const struct tn_avro_schema *s)
{
    return (const struct snode *)s;
}

static size_t sat_add(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

struct named {
    const char *fullname;
    struct snode *node;
};

struct sparse {
    struct arena *arena;
    struct named *slots; /* named types by full name: open addressing, at most half full */
    size_t nslots, nnamed;
    struct tn_err *err;
};

static int parse_schema(struct sparse *sp, json_t *j, const char *ns, int depth,
                        const struct snode **out);

static int schema_fail(struct sparse *sp, const char *fmt, ...) TN_PRINTF(2, 3);
static int schema_fail(struct sparse *sp, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return tn_fail(sp->err, TN_EINPUT, "avro: avro.schema: %s", msg);
}

static const struct snode *prim_lookup(const char *name)
{
    for (size_t i = 0; i < NPRIMS; i++)
        if (strcmp(name, prim_names[i]) == 0)
            return &prims[i];
    return NULL;
}

static size_t name_hash(const char *s)
{
    size_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* The slot holding "fullname", or the empty slot where it belongs (sp->nslots > 0). */
static struct named *named_slot(const struct sparse *sp, const char *fullname)
{
    size_t mask = sp->nslots - 1;
    size_t i = name_hash(fullname) & mask;

    while (sp->slots[i].fullname && strcmp(sp->slots[i].fullname, fullname) != 0)
        i = (i + 1) & mask;
    return &sp->slots[i];
}

static struct snode *named_lookup(struct sparse *sp, const char *fullname)
{
    return sp->nslots ? named_slot(sp, fullname)->node : NULL;
}

static void named_add(struct sparse *sp, const char *fullname, struct snode *n)
{
    struct named *slot;

    if (2 * (sp->nnamed + 1) > sp->nslots) {
        struct named *old = sp->slots;
        size_t nold = sp->nslots;

        sp->nslots = nold ? 2 * nold : 16;
        sp->slots = tn_calloc(sp->nslots, sizeof(*sp->slots));
        for (size_t i = 0; i < nold; i++)
            if (old[i].fullname)
                *named_slot(sp, old[i].fullname) = old[i];
        free(old);
    }
    slot = named_slot(sp, fullname);
    slot->fullname = fullname;
    slot->node = n;
    sp->nnamed++;
}

/* Resolve a type name used as a reference: a full name as is, a simple name first in the
 * enclosing namespace, then without one. */
static struct snode *named_resolve(struct sparse *sp, const char *name, const char *ns)
{
    struct snode *n = NULL;

    if (!strchr(name, '.') && ns[0]) {
        char *full = tn_asprintf("%s.%s", ns, name);
        n = named_lookup(sp, full);
        free(full);
    }
    return n ? n : named_lookup(sp, name);
}

/* Give node "n" its name: work out its full name (Avro "Names") and register it. On success
 * *child_ns is the namespace for the types defined inside it. */
static int define_name(struct sparse *sp, json_t *j, const char *ns, struct snode *n,
                       const char **child_ns)
{
    json_t *jname = json_object_get(j, "name");
    json_t *jns = json_object_get(j, "namespace");
    const char *name, *dot, *fullname;
    char *full;
    int rc = 0;

    *child_ns = ns;
    if (!jname)
        return 0; /* anonymous: Avro requires a name, but reading needs none */
    if (!json_is_string(jname))
        return schema_fail(sp, "a type's \"name\" must be a string");
    name = json_string_value(jname);
    n->s.name = arena_strndup(sp->arena, name, strlen(name));
    if (strchr(name, '.'))
        full = tn_strdup(name);
    else if (json_is_string(jns) && json_string_length(jns))
        full = tn_asprintf("%s.%s", json_string_value(jns), name);
    else if (ns[0])
        full = tn_asprintf("%s.%s", ns, name);
    else
        full = tn_strdup(name);
    if (named_lookup(sp, full)) {
        rc = schema_fail(sp, "type \"%s\" is defined twice", full);
        goto out;
    }
    fullname = arena_strndup(sp->arena, full, strlen(full));
    named_add(sp, fullname, n);
    dot = strrchr(fullname, '.');
    *child_ns = dot ? arena_strndup(sp->arena, fullname, (size_t)(dot - fullname)) : "";
out:
    free(full);
    return rc;
}

/* An Iceberg id attribute ("field-id", "element-id", ...): -1 when absent. */
static int get_id(struct sparse *sp, json_t *j, const char *key, int *out)
{
    json_t *v = json_object_get(j, key);
    int64_t i;

    *out = -1;
    if (!v)
        return 0;
    if (json_is_integer(v))
        i = json_integer_value(v);
    else if (!json_is_string(v) || tn_parse_i64(json_string_value(v), &i))
        return schema_fail(sp, "\"%s\" must be an integer", key);
    if (i < 0 || i > INT_MAX)
        return schema_fail(sp, "\"%s\" %lld is out of range", key, (long long)i);
    *out = (int)i;
    return 0;
}

static int parse_record(struct sparse *sp, json_t *j, const char *ns, int depth, struct snode *n)
{
    json_t *jfields = json_object_get(j, "fields");
    const char *child_ns;
    size_t nf;
    int rc;

    n->s.type = TN_AVRO_RECORD;
    rc = define_name(sp, j, ns, n, &child_ns);
    if (rc)
        return rc;
    if (!json_is_array(jfields))
        return schema_fail(sp, "record \"%s\" has no \"fields\" array", n->s.name ? n->s.name : "");
    nf = json_array_size(jfields);
    n->s.fields = arena_zalloc(sp->arena, nf * sizeof(*n->s.fields));
    for (size_t i = 0; i < nf; i++) {
        json_t *jf = json_array_get(jfields, i);
        json_t *jname = json_object_get(jf, "name");
        struct tn_avro_field *f = &n->s.fields[i];
        const struct snode *t;

        if (!json_is_string(jname))
            return schema_fail(sp, "record \"%s\": field %zu has no name",
                               n->s.name ? n->s.name : "", i + 1);
        f->name = arena_strndup(sp->arena, json_string_value(jname), json_string_length(jname));
        rc = get_id(sp, jf, "field-id", &f->field_id);
        if (rc)
            return rc;
        if (!json_object_get(jf, "type"))
            return schema_fail(sp, "field \"%s\" has no type", f->name);
        rc = parse_schema(sp, json_object_get(jf, "type"), child_ns, depth + 1, &t);
        if (rc)
            return rc;
        f->type = &t->s;
        n->s.nfields = i + 1;
        /* A recursive reference to this record sees the sum so far: still a lower bound. */
        n->min_size = sat_add(n->min_size, t->min_size);
    }
    return 0;
}

static int parse_enum(struct sparse *sp, json_t *j, const char *ns, struct snode *n)
{
    json_t *jsyms = json_object_get(j, "symbols");
    const char *child_ns;
    size_t nsyms;
    int rc;

    n->s.type = TN_AVRO_ENUM;
    n->min_size = 1;
    rc = define_name(sp, j, ns, n, &child_ns);
    if (rc)
        return rc;
    if (!json_is_array(jsyms))
        return schema_fail(sp, "enum has no \"symbols\" array");
    nsyms = json_array_size(jsyms);
    n->s.symbols = arena_zalloc(sp->arena, nsyms * sizeof(*n->s.symbols));
    for (size_t i = 0; i < nsyms; i++) {
        json_t *sym = json_array_get(jsyms, i);
        if (!json_is_string(sym))
            return schema_fail(sp, "enum symbols must be strings");
        n->s.symbols[i] = arena_strndup(sp->arena, json_string_value(sym), json_string_length(sym));
    }
    n->s.nfields = nsyms;
    return 0;
}

static int parse_fixed(struct sparse *sp, json_t *j, const char *ns, struct snode *n)
{
    json_t *jsize = json_object_get(j, "size");
    const char *child_ns;
    json_int_t size;

    n->s.type = TN_AVRO_FIXED;
    if (!json_is_integer(jsize) || (size = json_integer_value(jsize)) < 0 || size > INT_MAX)
        return schema_fail(sp, "fixed needs a \"size\" between 0 and %d", INT_MAX);
    n->s.fixed_size = (size_t)size;
    n->min_size = (size_t)size;
    return define_name(sp, j, ns, n, &child_ns);
}

static int parse_union(struct sparse *sp, json_t *j, const char *ns, int depth, struct snode *n)
{
    size_t nb = json_array_size(j);
    size_t min = SIZE_MAX;

    n->s.type = TN_AVRO_UNION;
    if (!nb)
        return schema_fail(sp, "a union needs at least one branch");
    n->s.branches = arena_zalloc(sp->arena, nb * sizeof(*n->s.branches));
    for (size_t i = 0; i < nb; i++) {
        const struct snode *b;
        int rc = parse_schema(sp, json_array_get(j, i), ns, depth + 1, &b);
        if (rc)
            return rc;
        n->s.branches[i] = &b->s;
        if (b->min_size < min)
            min = b->min_size;
    }
    n->s.nfields = nb;
    n->min_size = sat_add(1, min);
    return 0;
}

/* A schema given as a JSON object: {"type": ...} plus attributes. */
static int parse_object(struct sparse *sp, json_t *j, const char *ns, int depth,
                        const struct snode **out)
{
    json_t *jtype = json_object_get(j, "type");
    json_t *jlogical = json_object_get(j, "logicalType");
    struct snode *n;
    const struct snode *prim;
    const char *type;
    int rc;

    if (json_is_object(jtype) || json_is_array(jtype))
        return parse_schema(sp, jtype, ns, depth + 1, out);
    if (!json_is_string(jtype))
        return schema_fail(sp, "a schema object needs a \"type\"");
    type = json_string_value(jtype);

    n = arena_zalloc(sp->arena, sizeof(*n));
    n->s.element_id = n->s.key_id = n->s.value_id = -1;
    if (json_is_string(jlogical))
        n->s.logical_type =
            arena_strndup(sp->arena, json_string_value(jlogical), json_string_length(jlogical));
    if (json_is_integer(json_object_get(j, "precision")))
        n->s.precision = (int)json_integer_value(json_object_get(j, "precision"));
    if (json_is_integer(json_object_get(j, "scale")))
        n->s.scale = (int)json_integer_value(json_object_get(j, "scale"));
    if ((prim = prim_lookup(type))) {
        n->s.type = prim->s.type;
        n->min_size = prim->min_size;
        rc = 0;
    } else if (strcmp(type, "record") == 0 || strcmp(type, "error") == 0) {
        rc = parse_record(sp, j, ns, depth, n);
    } else if (strcmp(type, "enum") == 0) {
        rc = parse_enum(sp, j, ns, n);
    } else if (strcmp(type, "fixed") == 0) {
        rc = parse_fixed(sp, j, ns, n);
    } else if (strcmp(type, "array") == 0 || strcmp(type, "map") == 0) {
        const char *key = type[0] == 'a' ? "items" : "values";
        const struct snode *items;

        n->s.type = type[0] == 'a' ? TN_AVRO_ARRAY : TN_AVRO_MAP;
        n->min_size = 1;
        if (!json_object_get(j, key))
            return schema_fail(sp, "%s without \"%s\"", type, key);
        rc = parse_schema(sp, json_object_get(j, key), ns, depth + 1, &items);
        if (!rc)
            rc = get_id(sp, j, "element-id", &n->s.element_id);
        if (!rc)
            rc = get_id(sp, j, "key-id", &n->s.key_id);
        if (!rc)
            rc = get_id(sp, j, "value-id", &n->s.value_id);
        if (!rc)
            n->s.items = &items->s;
    } else {
        /* {"type": "SomeName"}: a reference to a named type */
        struct snode *ref = named_resolve(sp, type, ns);
        if (!ref)
            return schema_fail(sp, "unknown type \"%s\"", type);
        *out = ref;
        return 0;
    }
    if (!rc)
        *out = n;
    return rc;
}

static int parse_schema(struct sparse *sp, json_t *j, const char *ns, int depth,
                        const struct snode **out)
{
    if (depth > TN_AVRO_MAX_DEPTH)
        return schema_fail(sp, "types nest deeper than %d levels", TN_AVRO_MAX_DEPTH);
    if (json_is_string(j)) {
        const char *name = json_string_value(j);
        const struct snode *prim = prim_lookup(name);
        struct snode *ref;

        if (prim) {
            *out = prim;
            return 0;
        }
        ref = named_resolve(sp, name, ns);
        if (!ref)
            return schema_fail(sp, "unknown type \"%s\"", name);
        *out = ref;
        return 0;
    }
    if (json_is_array(j)) {
        struct snode *n = arena_zalloc(sp->arena, sizeof(*n));
        int rc;

        n->s.element_id = n->s.key_id = n->s.value_id = -1;
        rc = parse_union(sp, j, ns, depth, n);
        if (!rc)
            *out = n;
        return rc;
    }
    if (json_is_object(j))
        return parse_object(sp, j, ns, depth, out);
    return schema_fail(sp, "a type must be a name, an object or a union array");
}

static int schema_load(struct arena *arena, const char *text, size_t len,
                       const struct tn_avro_schema **out, struct tn_err *err)
{
    struct sparse sp = {arena, NULL, 0, 0, err};
    json_error_t jerr;
    json_t *j = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
    const struct snode *root = NULL;
    int rc;

    if (!j)
        return tn_fail(err, TN_EINPUT,
                       "avro: avro.schema is not valid JSON (line %d, column %d: %s)", jerr.line,
                       jerr.column, jerr.text);
    rc = parse_schema(&sp, j, "", 1, &root);
    if (!rc)
        *out = &root->s;
    json_decref(j);
    free(sp.slots);
    return rc;
}

/*---- Decoding ----*/

struct dec {
    const unsigned char *p, *end;
    struct arena *arena;
    int64_t *values_left; /* budget of value nodes, shared by all blocks */
    size_t block;         /* 1-based; 0 while reading the header */
    size_t record;        /* 1-based within the block; 0 outside records */
    int depth;
    struct tn_err *err;
};

static int dec_fail(struct dec *d, int code, const char *fmt, ...) TN_PRINTF(3, 4);
static int dec_fail(struct dec *d, int code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!d->block)
        return tn_fail(d->err, code, "avro: file header: %s", msg);
    if (!d->record)
        return tn_fail(d->err, code, "avro: block %zu: %s", d->block, msg);
    return tn_fail(d->err, code, "avro: block %zu, record %zu: %s", d->block, d->record, msg);
}

static size_t left(const struct dec *d)
{
    return (size_t)(d->end - d->p);
}

static int read_long(struct dec *d, int64_t *out)
{
    uint64_t u = 0;

    for (int i = 0;; i++) {
        unsigned b;
        if (d->p == d->end)
            return dec_fail(d, TN_EINPUT, "data ends inside an integer (truncated)");
        b = *d->p++;
        /* Like Java's BinaryDecoder, keep the low 64 bits of a 10-byte varint: PyIceberg
         * encodes ids above INT64_MAX that way (fixture equality_delete_extra_column). */
        if (i == 9 && (b & 0x80))
            return dec_fail(d, TN_EINPUT, "integer is longer than 10 bytes");
        u |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80))
            break;
    }
    *out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return 0;
}

/* A length (bytes, string, block size): not negative and within the bytes left. */
static int read_len(struct dec *d, const char *what, size_t *out)
{
    int64_t n;
    int rc = read_long(d, &n);

    if (rc)
        return rc;
    if (n < 0)
        return dec_fail(d, TN_EINPUT, "%s has negative length %lld", what, (long long)n);
    if ((uint64_t)n > left(d))
        return dec_fail(d, TN_EINPUT, "%s of %lld bytes but only %zu bytes left (truncated?)", what,
                        (long long)n, left(d));
    *out = (size_t)n;
    return 0;
}

/* The count that opens a block of an array, map or the header's metadata: a negative count is
 * followed by the block's byte size, which we do not need. Each item takes at least
 * "min_item" bytes (0: no bound), so a count the bytes left cannot hold is rejected up front.
 * A count of 0 ends the series. */
static int read_block_count(struct dec *d, const char *block, const char *items, size_t min_item,
                            int64_t *count)
{
    int rc = read_long(d, count);

    if (rc)
        return rc;
    if (*count < 0) {
        size_t skip;
        if (*count == INT64_MIN)
            return dec_fail(d, TN_EINPUT, "invalid item count in %s", block);
        *count = -*count;
        rc = read_len(d, block, &skip);
        if (rc)
            return rc;
    }
    if (min_item && (uint64_t)*count > left(d) / min_item)
        return dec_fail(d, TN_EINPUT, "%lld %s cannot fit in the %zu bytes left", (long long)*count,
                        items, left(d));
    return 0;
}

/* Take "n" times "per" value nodes from the budget. */
static int take_values(struct dec *d, int64_t n, int64_t per)
{
    if (n > *d->values_left / per)
        return dec_fail(d, TN_ETOOBIG, "more than %lld values in one file", (long long)MAX_VALUES);
    *d->values_left -= n * per;
    return 0;
}

static int decode_value(struct dec *d, const struct snode *s, struct tn_avro_value *v);

/* Arrays and maps: a series of blocks, each a count (negative: followed by a byte size) and
 * that many items, ending with a count of 0. */
static int decode_blocks(struct dec *d, const struct snode *s, struct tn_avro_value *v)
{
    int is_map = s->s.type == TN_AVRO_MAP;
    const struct snode *item = snode_of(s->s.items);
    size_t per = is_map ? 2 : 1;
    size_t min = item->min_size + (is_map ? 1 : 0);
    struct tn_avro_value *items = NULL;
    size_t n = 0, cap = 0;
    int heap = 0; /* items moved to the heap because a second block came */
    int rc = 0;

    for (;;) {
        int64_t count;
        size_t total;

        rc = read_block_count(d, "array block", "items", min, &count);
        if (rc)
            goto out;
        if (!count)
            break;
        rc = take_values(d, count, (int64_t)per);
        if (rc)
            goto out;
        total = n + (size_t)count * per;
        if (!items) {
            items = arena_alloc(d->arena, total * sizeof(*items));
            cap = total;
        } else if (!heap) {
            struct tn_avro_value *tmp;
            cap = total > 2 * cap ? total : 2 * cap;
            tmp = tn_malloc(cap * sizeof(*items));
            memcpy(tmp, items, n * sizeof(*items));
            items = tmp;
            heap = 1;
        } else if (total > cap) {
            cap = total > 2 * cap ? total : 2 * cap;
            items = tn_realloc(items, cap * sizeof(*items));
        }
        while (n < total) {
            if (is_map) {
                struct tn_avro_value *k = &items[n++];
                size_t len;
                k->type = TN_AVRO_STRING;
                k->schema = &STRING_NODE->s;
                rc = read_len(d, "map key", &len);
                if (rc)
                    goto out;
                k->u.bytes.p = (const char *)d->p;
                k->u.bytes.n = len;
                d->p += len;
            }
            rc = decode_value(d, item, &items[n++]);
            if (rc)
                goto out;
        }
    }
    if (heap) {
        struct tn_avro_value *fin = arena_alloc(d->arena, n * sizeof(*items));
        memcpy(fin, items, n * sizeof(*items));
        free(items);
        items = fin;
        heap = 0;
    }
    v->u.list.items = items;
    v->u.list.n = n;
out:
    if (heap)
        free(items);
    return rc;
}

static int decode_value(struct dec *d, const struct snode *s, struct tn_avro_value *v)
{
    int64_t i;
    size_t len;
    int rc = 0;

    if (d->depth >= TN_AVRO_MAX_DEPTH)
        return dec_fail(d, TN_EINPUT, "values nest deeper than %d levels", TN_AVRO_MAX_DEPTH);
    d->depth++;
    v->type = s->s.type;
    v->schema = &s->s;
    switch (s->s.type) {
    case TN_AVRO_NULL:
        break;
    case TN_AVRO_BOOLEAN:
        if (!left(d)) {
            rc = dec_fail(d, TN_EINPUT, "data ends inside a boolean (truncated)");
        } else if (*d->p > 1) {
            rc = dec_fail(d, TN_EINPUT, "boolean byte is %u, not 0 or 1", *d->p);
        } else {
            v->u.boolean = *d->p++;
        }
        break;
    case TN_AVRO_INT:
    case TN_AVRO_LONG:
        rc = read_long(d, &i);
        if (!rc && s->s.type == TN_AVRO_INT && (i < INT32_MIN || i > INT32_MAX))
            rc = dec_fail(d, TN_EINPUT, "int value %lld is out of range", (long long)i);
        if (!rc)
            v->u.i = i;
        break;
    case TN_AVRO_FLOAT:
    case TN_AVRO_DOUBLE:
        len = s->s.type == TN_AVRO_FLOAT ? 4 : 8;
        if (left(d) < len) {
            rc = dec_fail(d, TN_EINPUT, "data ends inside a floating-point value (truncated)");
        } else {
            uint64_t u = 0;
            for (size_t k = 0; k < len; k++)
                u |= (uint64_t)d->p[k] << (8 * k);
            d->p += len;
            if (len == 4) {
                uint32_t u32 = (uint32_t)u;
                float f;
                memcpy(&f, &u32, sizeof(f));
                v->u.d = f;
            } else {
                memcpy(&v->u.d, &u, sizeof(v->u.d));
            }
        }
        break;
    case TN_AVRO_BYTES:
    case TN_AVRO_STRING:
        rc = read_len(d, s->s.type == TN_AVRO_STRING ? "string" : "bytes", &len);
        if (!rc) {
            v->u.bytes.p = (const char *)d->p;
            v->u.bytes.n = len;
            d->p += len;
        }
        break;
    case TN_AVRO_FIXED:
        if (left(d) < s->s.fixed_size) {
            rc = dec_fail(d, TN_EINPUT, "fixed of %zu bytes but only %zu bytes left (truncated?)",
                          s->s.fixed_size, left(d));
        } else {
            v->u.bytes.p = (const char *)d->p;
            v->u.bytes.n = s->s.fixed_size;
            d->p += s->s.fixed_size;
        }
        break;
    case TN_AVRO_ENUM:
        rc = read_long(d, &i);
        if (!rc && (i < 0 || (uint64_t)i >= s->s.nfields))
            rc = dec_fail(d, TN_EINPUT, "enum index %lld is not one of the %zu symbols",
                          (long long)i, s->s.nfields);
        if (!rc)
            v->u.i = i;
        break;
    case TN_AVRO_RECORD:
        rc = take_values(d, (int64_t)s->s.nfields, 1);
        if (rc)
            break;
        v->u.list.n = s->s.nfields;
        v->u.list.items =
            s->s.nfields ? arena_alloc(d->arena, s->s.nfields * sizeof(*v->u.list.items)) : NULL;
        for (size_t k = 0; k < s->s.nfields && !rc; k++)
            rc = decode_value(d, snode_of(s->s.fields[k].type), &v->u.list.items[k]);
        break;
    case TN_AVRO_ARRAY:
    case TN_AVRO_MAP:
        rc = decode_blocks(d, s, v);
        break;
    case TN_AVRO_UNION:
        rc = read_long(d, &i);
        if (!rc && (i < 0 || (uint64_t)i >= s->s.nfields))
            rc = dec_fail(d, TN_EINPUT, "union branch %lld does not exist (the union has %zu)",
                          (long long)i, s->s.nfields);
        if (!rc)
            rc = decode_value(d, snode_of(s->s.branches[i]), v); /* the value takes the branch */
        break;
    }
    d->depth--;
    return rc;
}

/*---- Codecs ----*/

/* Grow a decompression buffer: double it, but never past "limit" bytes. */
static int grow(struct dec *d, unsigned char **buf, size_t *cap, size_t limit)
{
    if (*cap >= limit)
        return dec_fail(d, TN_ETOOBIG, "decompressed data exceeds the limit of %ld bytes per file",
                        (long)TN_AVRO_MAX_DECODED);
    *cap = *cap > limit / 2 ? limit : 2 * *cap;
    *buf = tn_realloc(*buf, *cap);
    return 0;
}

static int inflate_block(struct dec *d, const unsigned char *in, size_t n, size_t limit,
                         unsigned char **out, size_t *out_len)
{
    z_stream zs;
    size_t cap = n < limit / 4 ? 4 * n + 64 : limit;
    unsigned char *buf = tn_malloc(cap ? cap : 1);
    int rc = 0;

    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, -15) != Z_OK) {
        rc = tn_fail(d->err, TN_EINTERNAL, "avro: inflateInit2 failed");
        free(buf);
        return rc;
    }
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)n; /* n <= TN_AVRO_MAX_DECODED, checked by the caller */
    for (;;) {
        int zrc;

        zs.next_out = buf + zs.total_out;
        zs.avail_out = (uInt)(cap - zs.total_out);
        zrc = inflate(&zs, Z_NO_FLUSH);
        if (zrc == Z_STREAM_END)
            break;
        if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
            rc = dec_fail(d, TN_EINPUT, "deflate data is corrupt (%s)",
                          zs.msg ? zs.msg : "inflate failed");
            goto out;
        }
        if (!zs.avail_out) {
            rc = grow(d, &buf, &cap, limit);
            if (rc)
                goto out;
        } else if (!zs.avail_in) {
            rc = dec_fail(d, TN_EINPUT, "deflate data ends early (truncated)");
            goto out;
        } else if (zrc == Z_BUF_ERROR) {
            rc = dec_fail(d, TN_EINPUT, "deflate data is corrupt");
            goto out;
        }
    }
    *out_len = zs.total_out;
out:
    inflateEnd(&zs);
    if (rc)
        free(buf);
    else
        *out = buf;
    return rc;
}

static int zstd_block(struct dec *d, const unsigned char *in, size_t n, size_t limit,
                      unsigned char **out, size_t *out_len)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    ZSTD_inBuffer ib = {in, n, 0};
    size_t cap = n < limit / 4 ? 4 * n + 64 : limit;
    unsigned char *buf = tn_malloc(cap ? cap : 1);
    size_t pos = 0;
    int rc = 0;

    if (!dctx) {
        free(buf);
        return tn_fail(d->err, TN_EINTERNAL, "avro: ZSTD_createDCtx failed");
    }
    for (;;) {
        ZSTD_outBuffer ob = {buf, cap, pos};
        size_t zr = ZSTD_decompressStream(dctx, &ob, &ib);

        pos = ob.pos;
        if (ZSTD_isError(zr)) {
            rc = dec_fail(d, TN_EINPUT, "zstandard data is corrupt (%s)", ZSTD_getErrorName(zr));
            goto out;
        }
        if (!zr && ib.pos == ib.size)
            break; /* the last frame is complete */
        if (ob.pos == ob.size) {
            rc = grow(d, &buf, &cap, limit);
            if (rc)
                goto out;
        } else if (ib.pos == ib.size) {
            rc = dec_fail(d, TN_EINPUT, "zstandard data ends early (truncated)");
            goto out;
        }
    }
    *out_len = pos;
out:
    ZSTD_freeDCtx(dctx);
    if (rc)
        free(buf);
    else
        *out = buf;
    return rc;
}

static int snappy_block(struct dec *d, const unsigned char *in, size_t n, size_t limit,
                        unsigned char **out, size_t *out_len)
{
    unsigned char *buf = NULL;
    size_t ulen;
    uint32_t stored, actual;

    if (n < 4)
        return dec_fail(d, TN_EINPUT, "snappy block is shorter than its CRC32");
    n -= 4;
    if (snappy_uncompressed_length((const char *)in, n, &ulen) != SNAPPY_OK)
        return dec_fail(d, TN_EINPUT, "snappy data is corrupt");
    if (ulen > limit)
        return dec_fail(d, TN_ETOOBIG, "decompressed data exceeds the limit of %ld bytes per file",
                        (long)TN_AVRO_MAX_DECODED);
    buf = tn_malloc(ulen ? ulen : 1);
    if (snappy_uncompress((const char *)in, n, (char *)buf, &ulen) != SNAPPY_OK) {
        free(buf);
        return dec_fail(d, TN_EINPUT, "snappy data is corrupt");
    }
    stored = (uint32_t)in[n] << 24 | (uint32_t)in[n + 1] << 16 | (uint32_t)in[n + 2] << 8 |
             (uint32_t)in[n + 3];
    actual = (uint32_t)crc32(0L, buf, (uInt)ulen);
    if (stored != actual) {
        free(buf);
        return dec_fail(d, TN_EINPUT,
                        "snappy block CRC32 is %08x but the decompressed data's is %08x",
                        (unsigned)stored, (unsigned)actual);
    }
    *out = buf;
    *out_len = ulen;
    return 0;
}

static int decompress(struct dec *d, enum tn_avro_codec codec, const unsigned char *in, size_t n,
                      size_t limit, unsigned char **out, size_t *out_len)
{
    if (n > (size_t)TN_AVRO_MAX_DECODED)
        return dec_fail(d, TN_ETOOBIG, "block of %zu bytes is larger than the limit of %ld bytes",
                        n, (long)TN_AVRO_MAX_DECODED);
    switch (codec) {
    case TN_AVRO_CODEC_DEFLATE:
        return inflate_block(d, in, n, limit, out, out_len);
    case TN_AVRO_CODEC_ZSTD:
        return zstd_block(d, in, n, limit, out, out_len);
    case TN_AVRO_CODEC_SNAPPY:
        return snappy_block(d, in, n, limit, out, out_len);
    case TN_AVRO_CODEC_NULL:
        break;
    }
    if (n > limit)
        return dec_fail(d, TN_ETOOBIG, "decoded data exceeds the limit of %ld bytes per file",
                        (long)TN_AVRO_MAX_DECODED);
    *out = tn_malloc(n ? n : 1); /* a copy: the file keeps no pointer into the caller's data */
    if (n)
        memcpy(*out, in, n);
    *out_len = n;
    return 0;
}

/*---- Container ----*/

static const struct meta_entry *meta_find(const struct file_priv *fp, const char *key)
{
    for (size_t i = 0; i < fp->nmeta; i++)
        if (strcmp(fp->meta[i].key, key) == 0)
            return &fp->meta[i];
    return NULL;
}

/* The header after the magic: the metadata map<bytes>, then the sync marker. */
static int read_header(struct dec *d, struct file_priv *fp, unsigned char sync[SYNC_LEN])
{
    struct meta_entry *entries = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    for (;;) {
        int64_t count;

        rc = read_block_count(d, "metadata block", "metadata entries", 2, &count);
        if (rc)
            goto out;
        if (!count)
            break;
        if (n + (size_t)count > cap) {
            cap = n + (size_t)count;
            entries = tn_realloc(entries, cap * sizeof(*entries));
        }
        for (int64_t k = 0; k < count; k++) {
            size_t klen, vlen;
            const unsigned char *key;

            rc = read_len(d, "metadata key", &klen);
            if (rc)
                goto out;
            key = d->p;
            d->p += klen;
            rc = read_len(d, "metadata value", &vlen);
            if (rc)
                goto out;
            entries[n].key = arena_strndup(&fp->arena, (const char *)key, klen);
            entries[n].value = arena_strndup(&fp->arena, (const char *)d->p, vlen);
            entries[n].len = vlen;
            d->p += vlen;
            n++;
        }
    }
    if (left(d) < SYNC_LEN) {
        rc = dec_fail(d, TN_EINPUT, "file ends before the sync marker (truncated)");
        goto out;
    }
    memcpy(sync, d->p, SYNC_LEN);
    d->p += SYNC_LEN;
    fp->meta = n ? arena_alloc(&fp->arena, n * sizeof(*entries)) : NULL;
    if (n)
        memcpy(fp->meta, entries, n * sizeof(*entries));
    fp->nmeta = n;
out:
    free(entries);
    return rc;
}

static int codec_parse(const struct file_priv *fp, enum tn_avro_codec *out, struct tn_err *err)
{
    const struct meta_entry *m = meta_find(fp, "avro.codec");
    static const struct {
        const char *name;
        enum tn_avro_codec codec;
    } codecs[] = {
        {"null", TN_AVRO_CODEC_NULL},
        {"deflate", TN_AVRO_CODEC_DEFLATE},
        {"snappy", TN_AVRO_CODEC_SNAPPY},
        {"zstandard", TN_AVRO_CODEC_ZSTD},
    };

    if (!m) {
        *out = TN_AVRO_CODEC_NULL; /* the spec's default */
        return 0;
    }
    for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
        if (strlen(codecs[i].name) == m->len && memcmp(codecs[i].name, m->value, m->len) == 0) {
            *out = codecs[i].codec;
            return 0;
        }
    }
    return tn_fail(err, TN_EINPUT,
                   "avro: unsupported codec \"%.64s\"; tarn reads null, deflate, snappy and "
                   "zstandard",
                   m->value);
}

/* Decode the blocks that follow the header, appending to the file's records. */
static int read_blocks(struct dec *d, struct tn_avro_file *f, const unsigned char *sync,
                       enum tn_avro_codec codec)
{
    struct file_priv *fp = f->priv;
    const struct snode *root = snode_of(f->schema);
    struct tn_avro_value *recs = NULL;
    size_t nrecs = 0, cap = 0;
    size_t decoded = 0;
    int rc = 0;

    while (d->p < d->end) {
        int64_t count;
        size_t size, blen = 0;
        const unsigned char *comp;
        unsigned char *blk = NULL;
        struct dec bd;

        d->block++;
        rc = read_long(d, &count);
        if (!rc && count < 0)
            rc = dec_fail(d, TN_EINPUT, "negative record count %lld", (long long)count);
        if (!rc)
            rc = read_len(d, "block", &size);
        if (rc)
            goto out;
        comp = d->p;
        d->p += size;
        if (left(d) < SYNC_LEN) {
            rc = dec_fail(d, TN_EINPUT, "file ends before the block's sync marker (truncated)");
            goto out;
        }
        if (memcmp(d->p, sync, SYNC_LEN) != 0) {
            rc = dec_fail(d, TN_EINPUT, "sync marker does not match the header's");
            goto out;
        }
        d->p += SYNC_LEN;
        if (!count && !size)
            continue;
        rc = decompress(d, codec, comp, size, (size_t)TN_AVRO_MAX_DECODED - decoded, &blk, &blen);
        if (rc)
            goto out;
        own(fp, blk);
        decoded += blen;
        if (root->min_size && (uint64_t)count > blen / root->min_size) {
            rc = dec_fail(d, TN_EINPUT, "%lld records cannot fit in the block's %zu bytes",
                          (long long)count, blen);
            goto out;
        }
        rc = take_values(d, count, 1);
        if (rc)
            goto out;
        if (nrecs + (size_t)count > cap) {
            cap = nrecs + (size_t)count > 2 * cap ? nrecs + (size_t)count : 2 * cap;
            recs = tn_realloc(recs, cap * sizeof(*recs));
        }
        bd = *d;
        bd.p = blk;
        bd.end = blk + blen;
        for (int64_t i = 0; i < count; i++) {
            bd.record = (size_t)i + 1;
            rc = decode_value(&bd, root, &recs[nrecs]);
            if (rc)
                goto out;
            nrecs++;
        }
        if (bd.p != bd.end) {
            rc = dec_fail(d, TN_EINPUT, "%zu bytes left over after the block's %lld records",
                          left(&bd), (long long)count);
            goto out;
        }
    }
out:
    if (recs)
        own(fp, recs);
    f->records = recs;
    f->nrecords = nrecs;
    return rc;
}

int tn_avro_read(const void *data, size_t len, struct tn_avro_file **out, struct tn_err *err)
{
    struct tn_avro_file *f = tn_calloc(1, sizeof(*f));
    struct file_priv *fp = tn_calloc(1, sizeof(*fp));
    int64_t values_left = MAX_VALUES;
    unsigned char sync[SYNC_LEN];
    const struct meta_entry *schema;
    enum tn_avro_codec codec = TN_AVRO_CODEC_NULL;
    struct dec d;
    int rc;

    f->priv = fp;
    memset(&d, 0, sizeof(d));
    d.p = data;
    d.end = d.p + len;
    d.arena = &fp->arena;
    d.values_left = &values_left;
    d.err = err;
    if (len < sizeof(magic) || memcmp(data, magic, sizeof(magic)) != 0) {
        rc = tn_fail(err, TN_EINPUT,
                     "avro: not an Avro container file (it does not start with \"Obj\\x01\")");
        goto out;
    }
    d.p += sizeof(magic);
    rc = read_header(&d, fp, sync);
    if (rc)
        goto out;
    schema = meta_find(fp, "avro.schema");
    if (!schema) {
        rc = tn_fail(err, TN_EINPUT, "avro: the file header has no avro.schema");
        goto out;
    }
    rc = codec_parse(fp, &codec, err);
    if (rc)
        goto out;
    rc = schema_load(&fp->arena, schema->value, schema->len, &f->schema, err);
    if (rc)
        goto out;
    rc = read_blocks(&d, f, sync, codec);
out:
    if (rc) {
        tn_avro_file_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

int tn_avro_decode_records(const char *schema_json, size_t schema_len, const void *const *recs,
                           const size_t *lens, size_t n, struct tn_avro_file **out,
                           struct tn_err *err)
{
    struct tn_avro_file *f = tn_calloc(1, sizeof(*f));
    struct file_priv *fp = tn_calloc(1, sizeof(*fp));
    int64_t values_left = MAX_VALUES;
    struct tn_avro_value *values = NULL;
    size_t decoded = 0;
    struct dec d;
    int rc;

    f->priv = fp;
    memset(&d, 0, sizeof(d));
    d.arena = &fp->arena;
    d.values_left = &values_left;
    d.err = err;
    d.block = 1;
    rc = schema_load(&fp->arena, schema_json, schema_len, &f->schema, err);
    if (!rc) {
        values = tn_calloc(n ? n : 1, sizeof(*values));
        own(fp, values);
        rc = take_values(&d, (int64_t)n, 1);
    }
    for (size_t i = 0; !rc && i < n; i++) {
        decoded += lens[i];
        if (decoded > (size_t)TN_AVRO_MAX_DECODED) {
            rc = dec_fail(&d, TN_ETOOBIG, "the records exceed %ld bytes", TN_AVRO_MAX_DECODED);
            break;
        }
        d.p = recs[i];
        d.end = d.p + lens[i];
        d.record = i + 1;
        rc = decode_value(&d, snode_of(f->schema), &values[i]);
        if (!rc && d.p != d.end)
            rc = dec_fail(&d, TN_EINPUT, "%zu bytes left over after the record", left(&d));
        if (!rc)
            f->nrecords = i + 1;
    }
    f->records = values;
    if (rc) {
        tn_avro_file_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

const char *tn_avro_meta_get(const struct tn_avro_file *f, const char *key, size_t *out_len)
{
    const struct meta_entry *m = f ? meta_find(f->priv, key) : NULL;

    if (!m)
        return NULL;
    if (out_len)
        *out_len = m->len;
    return m->value;
}

void tn_avro_file_free(struct tn_avro_file *f)
{
    struct file_priv *fp;

    if (!f)
        return;
    fp = f->priv;
    for (size_t i = 0; i < fp->nowned; i++)
        free(fp->owned[i]);
    free(fp->owned);
    arena_release(&fp->arena);
    free(fp);
    free(f);
}

/*---- Field access ----*/

const struct tn_avro_value *tn_avro_field(const struct tn_avro_value *rec, int field_id)
{
    const struct tn_avro_schema *s;

    if (!rec || rec->type != TN_AVRO_RECORD || field_id < 0)
        return NULL;
    s = rec->schema;
    for (size_t i = 0; i < s->nfields && i < rec->u.list.n; i++)
        if (s->fields[i].field_id == field_id)
            return &rec->u.list.items[i];
    return NULL;
}

int64_t tn_avro_field_i64(const struct tn_avro_value *rec, int field_id, int64_t dflt)
{
    const struct tn_avro_value *v = tn_avro_field(rec, field_id);

    if (!v || (v->type != TN_AVRO_INT && v->type != TN_AVRO_LONG))
        return dflt;
    return v->u.i;
}

const char *tn_avro_field_str(const struct tn_avro_value *rec, int field_id, size_t *out_len)
{
    const struct tn_avro_value *v = tn_avro_field(rec, field_id);

    if (!v || (v->type != TN_AVRO_STRING && v->type != TN_AVRO_BYTES && v->type != TN_AVRO_FIXED))
        return NULL;
    if (out_len)
        *out_len = v->u.bytes.n;
    return v->u.bytes.p;
}
