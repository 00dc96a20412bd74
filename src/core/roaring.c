/* roaring.c - the portable serialization of 64-bit Roaring bitmaps (see roaring.h), shared by
 * Delta Lake's deletion vectors (delta/dv.c) and Iceberg's deletion-vector-v1 blobs
 * (iceberg/puffin.c). */
#include "core/roaring.h"

#include <stdlib.h>
#include <string.h>

/* The two cookies of the standard 32-bit Roaring format: without run containers (a 32-bit
 * container count follows), and with them (the count - 1 in the high 16 bits, then a bitset
 * saying which containers are runs). */
#define ROARING_COOKIE_NO_RUNS 12346u
#define ROARING_COOKIE_RUNS    12347u
/* With run containers, a bitmap of fewer containers than this has no offset header. */
#define ROARING_NO_OFFSET_THRESHOLD 4u
#define ROARING_ARRAY_MAX           4096u /* more values than this make a bitset container */
#define ROARING_BITSET_BYTES        8192u

/*---- Byte order ----*/

static uint16_t le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t le64(const unsigned char *p)
{
    return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32);
}

static void put_le16(struct tn_buf *b, uint16_t v)
{
    unsigned char x[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    (void)tn_buf_add(b, x, 2, NULL);
}

static void put_le32(struct tn_buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    (void)tn_buf_add(b, x, 4, NULL);
}

/*---- Decoding ----*/

/* A cursor over untrusted bytes: every read checks what is left. */
struct reader {
    const unsigned char *p;
    size_t left;
};

static int take(struct reader *r, size_t n, const unsigned char **out)
{
    if (r->left < n)
        return -1;
    *out = r->p;
    r->p += n;
    r->left -= n;
    return 0;
}

/* The growing list of decoded positions, with its cap. */
struct positions {
    int64_t *v;
    size_t n, cap;
    int64_t max;
};

static int positions_room(struct positions *ps, uint64_t more, struct tn_err *err)
{
    if ((uint64_t)ps->n + more > (uint64_t)ps->max)
        return tn_fail(err, TN_EINPUT,
                       "deletion vector holds more than %lld positions; it is damaged",
                       (long long)ps->max);
    if (ps->n + more > ps->cap) {
        size_t cap = ps->cap ? ps->cap : 64;
        while (cap < ps->n + more)
            cap *= 2;
        ps->v = tn_realloc(ps->v, cap * sizeof(*ps->v));
        ps->cap = cap;
    }
    return 0;
}

static int dv_damaged(struct tn_err *err, const char *what)
{
    return tn_fail(err, TN_EINPUT, "deletion vector is damaged: %s", what);
}

/* One container of a 32-bit Roaring bitmap, appended to "ps" with "high" (bucket key and
 * container key) in front of each 16-bit value. "last" is the last value appended, to keep the
 * list strictly ascending (-1 before the first). */
static int decode_container(struct reader *r, int is_run, uint32_t card, int64_t high,
                            struct positions *ps, int64_t *last, struct tn_err *err)
{
    const unsigned char *d;

    if (is_run) {
        uint16_t nruns;
        if (take(r, 2, &d) != 0)
            return dv_damaged(err, "truncated run container");
        nruns = le16(d);
        if (take(r, (size_t)nruns * 4, &d) != 0)
            return dv_damaged(err, "truncated run container");
        for (uint16_t i = 0; i < nruns; i++) {
            uint32_t start = le16(d + 4 * i), length = (uint32_t)le16(d + 4 * i + 2) + 1;
            int64_t first = high | start;
            if (start + length > 65536u)
                return dv_damaged(err, "a run goes past its container");
            if (first <= *last)
                return dv_damaged(err, "runs are not in ascending order");
            int rc = positions_room(ps, length, err);
            if (rc != 0)
                return rc;
            for (uint32_t k = 0; k < length; k++)
                ps->v[ps->n++] = first + k;
            *last = first + length - 1;
        }
    } else if (card <= ROARING_ARRAY_MAX) {
        if (take(r, (size_t)card * 2, &d) != 0)
            return dv_damaged(err, "truncated array container");
        int rc = positions_room(ps, card, err);
        if (rc != 0)
            return rc;
        for (uint32_t i = 0; i < card; i++) {
            int64_t v = high | le16(d + 2 * i);
            if (v <= *last)
                return dv_damaged(err, "array values are not in ascending order");
            ps->v[ps->n++] = *last = v;
        }
    } else {
        uint32_t seen = 0;
        if (take(r, ROARING_BITSET_BYTES, &d) != 0)
            return dv_damaged(err, "truncated bitset container");
        int rc = positions_room(ps, card, err);
        if (rc != 0)
            return rc;
        for (uint32_t bit = 0; bit < 65536u; bit++) {
            if (!(d[bit >> 3] & (1u << (bit & 7))))
                continue;
            if (++seen > card)
                break;
            ps->v[ps->n++] = *last = high | bit;
        }
        if (seen != card)
            return dv_damaged(err, "a bitset container's cardinality does not match its bits");
    }
    return 0;
}

/* One standard 32-bit Roaring bitmap whose values get "key" as their high 32 bits. */
static int decode_roaring32(struct reader *r, uint32_t key, struct positions *ps, int64_t *last,
                            struct tn_err *err)
{
    const unsigned char *d, *run_bits = NULL, *headers;
    uint32_t cookie, count;
    int has_runs;
    int64_t prev_ckey = -1;

    if (take(r, 4, &d) != 0)
        return dv_damaged(err, "truncated bitmap header");
    cookie = le32(d);
    if ((cookie & 0xFFFFu) == ROARING_COOKIE_RUNS) {
        has_runs = 1;
        count = (cookie >> 16) + 1;
        if (take(r, (count + 7) / 8, &run_bits) != 0)
            return dv_damaged(err, "truncated bitmap header");
    } else if (cookie == ROARING_COOKIE_NO_RUNS) {
        has_runs = 0;
        if (take(r, 4, &d) != 0)
            return dv_damaged(err, "truncated bitmap header");
        count = le32(d);
        if (count > 65536u)
            return dv_damaged(err, "more than 65536 containers in a bitmap");
    } else {
        return dv_damaged(err, "unknown Roaring cookie");
    }
    if (take(r, (size_t)count * 4, &headers) != 0)
        return dv_damaged(err, "truncated container headers");
    /* The offset header only speeds up random access; the containers are read in order. */
    if ((!has_runs || count >= ROARING_NO_OFFSET_THRESHOLD) && take(r, (size_t)count * 4, &d) != 0)
        return dv_damaged(err, "truncated offset header");
    for (uint32_t i = 0; i < count; i++) {
        uint16_t ckey = le16(headers + 4 * i);
        uint32_t card = (uint32_t)le16(headers + 4 * i + 2) + 1;
        int is_run = has_runs && (run_bits[i / 8] >> (i % 8) & 1);
        int rc;

        if ((int64_t)ckey <= prev_ckey)
            return dv_damaged(err, "container keys are not in ascending order");
        prev_ckey = ckey;
        rc = decode_container(r, is_run, card, ((int64_t)key << 32) | ((int64_t)ckey << 16), ps,
                              last, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int tn_roaring64_decode(const unsigned char *data, size_t len, int64_t max_positions,
                        int64_t **out_pos, size_t *out_n, struct tn_err *err)
{
    struct reader r = {data, len};
    struct positions ps = {NULL, 0, 0, max_positions};
    const unsigned char *d;
    uint64_t nbuckets;
    int64_t prev_key = -1, last = -1;
    int rc = 0;

    *out_pos = NULL;
    *out_n = 0;
    if (ps.max <= 0 || ps.max > TN_ROARING_MAX_POSITIONS)
        ps.max = TN_ROARING_MAX_POSITIONS;
    if (take(&r, 8, &d) != 0)
        return dv_damaged(err, "shorter than its header");
    nbuckets = le64(d);
    /* A bucket takes at least 12 bytes: its key, a cookie and a container count. */
    if (nbuckets > r.left / 12)
        return dv_damaged(err, "more buckets than its bytes can hold");
    for (uint64_t b = 0; b < nbuckets && rc == 0; b++) {
        uint32_t key;
        if (take(&r, 4, &d) != 0) {
            rc = dv_damaged(err, "truncated bucket");
            break;
        }
        key = le32(d);
        if (key & 0x80000000u)
            rc = dv_damaged(err, "a bucket key has its top bit set");
        else if ((int64_t)key <= prev_key)
            rc = dv_damaged(err, "bucket keys are not in ascending order");
        else
            rc = decode_roaring32(&r, key, &ps, &last, err);
        prev_key = key;
    }
    if (rc == 0 && r.left != 0)
        rc = dv_damaged(err, "bytes left over after the last bucket");
    if (rc != 0) {
        free(ps.v);
        return rc;
    }
    *out_pos = ps.v;
    *out_n = ps.n;
    return 0;
}

/*---- Encoding ----*/

enum container_kind { KIND_ARRAY, KIND_BITSET, KIND_RUN };

struct container_plan {
    uint16_t key;
    uint32_t card;
    uint32_t nruns;
    enum container_kind kind;
    size_t first; /* index in the positions of its first value */
};

static size_t container_bytes(const struct container_plan *c)
{
    switch (c->kind) {
    case KIND_RUN:
        return 2 + 4 * (size_t)c->nruns;
    case KIND_BITSET:
        return ROARING_BITSET_BYTES;
    default:
        return 2 * (size_t)c->card;
    }
}

static void encode_container(struct tn_buf *b, const struct container_plan *c, const int64_t *pos)
{
    const int64_t *v = pos + c->first;

    if (c->kind == KIND_ARRAY) {
        for (uint32_t i = 0; i < c->card; i++)
            put_le16(b, (uint16_t)(v[i] & 0xFFFF));
    } else if (c->kind == KIND_BITSET) {
        unsigned char *bits = tn_calloc(1, ROARING_BITSET_BYTES);
        for (uint32_t i = 0; i < c->card; i++) {
            uint32_t low = (uint32_t)(v[i] & 0xFFFF);
            bits[low >> 3] |= (unsigned char)(1u << (low & 7));
        }
        (void)tn_buf_add(b, bits, ROARING_BITSET_BYTES, NULL);
        free(bits);
    } else {
        put_le16(b, (uint16_t)c->nruns);
        for (uint32_t i = 0; i < c->card;) {
            uint32_t j = i + 1;
            while (j < c->card && v[j] == v[j - 1] + 1)
                j++;
            put_le16(b, (uint16_t)(v[i] & 0xFFFF));
            put_le16(b, (uint16_t)(j - i - 1));
            i = j;
        }
    }
}

/* Plan the containers of the positions pos[from..to) (one bucket) into "plans" (room for 65536);
 * returns how many. */
static uint32_t plan_bucket(const int64_t *pos, size_t from, size_t to,
                            struct container_plan *plans)
{
    uint32_t n = 0;

    for (size_t i = from; i < to;) {
        struct container_plan *c = &plans[n++];
        size_t j = i;
        uint16_t key = (uint16_t)((pos[i] >> 16) & 0xFFFF);
        size_t array_or_bitset;

        c->key = key;
        c->first = i;
        c->nruns = 0;
        while (j < to && (uint16_t)((pos[j] >> 16) & 0xFFFF) == key) {
            if (j == i || pos[j] != pos[j - 1] + 1)
                c->nruns++;
            j++;
        }
        c->card = (uint32_t)(j - i);
        c->kind = c->card <= ROARING_ARRAY_MAX ? KIND_ARRAY : KIND_BITSET;
        array_or_bitset = container_bytes(c);
        if (2 + 4 * (size_t)c->nruns < array_or_bitset)
            c->kind = KIND_RUN;
        i = j;
    }
    return n;
}

static void encode_bucket(struct tn_buf *b, const int64_t *pos, const struct container_plan *plans,
                          uint32_t n)
{
    int has_runs = 0;
    size_t header_len, offset;

    for (uint32_t i = 0; i < n; i++)
        has_runs |= plans[i].kind == KIND_RUN;
    if (has_runs) {
        unsigned char *run_bits = tn_calloc(1, (n + 7) / 8);
        put_le32(b, ROARING_COOKIE_RUNS | ((n - 1) << 16));
        for (uint32_t i = 0; i < n; i++)
            if (plans[i].kind == KIND_RUN)
                run_bits[i / 8] |= (unsigned char)(1u << (i % 8));
        (void)tn_buf_add(b, run_bits, (n + 7) / 8, NULL);
        free(run_bits);
        header_len = 4 + (n + 7) / 8 + 4 * (size_t)n;
    } else {
        put_le32(b, ROARING_COOKIE_NO_RUNS);
        put_le32(b, n);
        header_len = 8 + 4 * (size_t)n;
    }
    for (uint32_t i = 0; i < n; i++) {
        put_le16(b, plans[i].key);
        put_le16(b, (uint16_t)(plans[i].card - 1));
    }
    if (!has_runs || n >= ROARING_NO_OFFSET_THRESHOLD) {
        offset = header_len + 4 * (size_t)n;
        for (uint32_t i = 0; i < n; i++) {
            put_le32(b, (uint32_t)offset);
            offset += container_bytes(&plans[i]);
        }
    }
    for (uint32_t i = 0; i < n; i++)
        encode_container(b, &plans[i], pos);
}

int tn_roaring64_encode(const int64_t *pos, size_t n, struct tn_buf *out, struct tn_err *err)
{
    struct container_plan *plans;
    uint64_t nbuckets = 0;
    unsigned char count[8];

    for (size_t i = 0; i < n; i++) {
        if (pos[i] < 0 || (i > 0 && pos[i] <= pos[i - 1]))
            return tn_fail(err, TN_EINTERNAL,
                           "Roaring bitmap positions must be ascending and not negative (at %zu)",
                           i);
        if (i == 0 || (pos[i] >> 32) != (pos[i - 1] >> 32))
            nbuckets++;
    }
    for (int k = 0; k < 8; k++)
        count[k] = (unsigned char)(nbuckets >> (8 * k));
    (void)tn_buf_add(out, count, 8, NULL);
    plans = tn_malloc(65536 * sizeof(*plans));
    for (size_t i = 0; i < n;) {
        size_t j = i;
        uint32_t nplans;
        while (j < n && (pos[j] >> 32) == (pos[i] >> 32))
            j++;
        put_le32(out, (uint32_t)(pos[i] >> 32));
        nplans = plan_bucket(pos, i, j, plans);
        encode_bucket(out, pos, plans, nplans);
        i = j;
    }
    free(plans);
    return 0;
}
