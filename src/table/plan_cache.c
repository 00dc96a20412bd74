/* plan_cache.c - the warehouse's cache of immutable planning inputs: metadata JSON bytes, parsed
 * manifest lists and parsed manifests, keyed by location. A file at a location never changes
 * (tarn and every Iceberg writer give each new file a fresh name), so an entry never goes stale.
 * Bounded by bytes, least recently used out first. Thread-safe (one mutex); a value stays alive
 * while a caller holds a reference, even after eviction. */
#include "table_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 4096

struct tn_cached {
    char *key;
    void *value;
    size_t bytes;
    void (*free_value)(void *value);
    int refs;                /* holders, the cache itself included while the entry is listed */
    struct tn_cached *hnext; /* hash chain */
    struct tn_cached *prev, *next; /* LRU list: head is the most recently used */
};

struct tn_plan_cache {
    pthread_mutex_t lock;
    size_t capacity, bytes, entries;
    int64_t hits, misses, evictions;
    struct tn_cached *buckets[NBUCKETS];
    struct tn_cached *head, *tail;
};

static size_t hash_key(const char *key)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 1099511628211ULL;
    return (size_t)(h % NBUCKETS);
}

struct tn_plan_cache *tn__plan_cache_new(size_t capacity)
{
    struct tn_plan_cache *c = tn_calloc(1, sizeof(*c));

    pthread_mutex_init(&c->lock, NULL);
    c->capacity = capacity;
    return c;
}

static void drop_ref(struct tn_cached *e)
{
    if (--e->refs > 0)
        return;
    e->free_value(e->value);
    free(e->key);
    free(e);
}

/* Take "e" out of the table and the list, and drop the cache's reference (lock held). */
static void unlist(struct tn_plan_cache *c, struct tn_cached *e)
{
    struct tn_cached **pp = &c->buckets[hash_key(e->key)];

    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    c->bytes -= e->bytes;
    c->entries--;
    drop_ref(e);
}

static void to_front(struct tn_plan_cache *c, struct tn_cached *e)
{
    if (c->head == e)
        return;
    e->prev->next = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = NULL;
    e->next = c->head;
    c->head->prev = e;
    c->head = e;
}

void tn__plan_cache_free(struct tn_plan_cache *c)
{
    if (!c)
        return;
    while (c->head)
        unlist(c, c->head);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

struct tn_cached *tn__plan_cache_get(struct tn_plan_cache *c, const char *key)
{
    struct tn_cached *e;

    pthread_mutex_lock(&c->lock);
    for (e = c->buckets[hash_key(key)]; e && strcmp(e->key, key) != 0; e = e->hnext)
        ;
    if (e) {
        e->refs++;
        to_front(c, e);
        c->hits++;
    } else {
        c->misses++;
    }
    pthread_mutex_unlock(&c->lock);
    return e;
}

struct tn_cached *tn__plan_cache_put(struct tn_plan_cache *c, const char *key, void *value,
                                     size_t bytes, void (*free_value)(void *value))
{
    struct tn_cached *e = tn_calloc(1, sizeof(*e)), *old;
    size_t h = hash_key(key);

    e->key = tn_strdup(key);
    e->value = value;
    e->bytes = bytes + sizeof(*e) + strlen(key) + 1;
    e->free_value = free_value;
    e->refs = 1; /* the caller's */
    pthread_mutex_lock(&c->lock);
    for (old = c->buckets[h]; old && strcmp(old->key, key) != 0; old = old->hnext)
        ;
    if (old)
        unlist(c, old); /* another thread parsed the same file: keep the newer copy */
    if (e->bytes <= c->capacity) {
        while (c->bytes + e->bytes > c->capacity && c->tail) {
            unlist(c, c->tail);
            c->evictions++;
        }
        e->refs++; /* the cache's */
        e->hnext = c->buckets[h];
        c->buckets[h] = e;
        e->next = c->head;
        if (c->head)
            c->head->prev = e;
        c->head = e;
        if (!c->tail)
            c->tail = e;
        c->bytes += e->bytes;
        c->entries++;
    }
    pthread_mutex_unlock(&c->lock);
    return e;
}

const void *tn__plan_cached_value(const struct tn_cached *e)
{
    return e->value;
}

void tn__plan_cache_release(struct tn_plan_cache *c, struct tn_cached *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&c->lock);
    drop_ref(e);
    pthread_mutex_unlock(&c->lock);
}

void tn__plan_cache_stats(struct tn_plan_cache *c, struct tn_plan_cache_stats *out)
{
    pthread_mutex_lock(&c->lock);
    out->hits = c->hits;
    out->misses = c->misses;
    out->evictions = c->evictions;
    out->bytes = (int64_t)c->bytes;
    out->entries = (int64_t)c->entries;
    out->capacity = (int64_t)c->capacity;
    pthread_mutex_unlock(&c->lock);
}

void tn_warehouse_plan_cache_stats(struct tn_warehouse *wh, struct tn_plan_cache_stats *out)
{
    tn__plan_cache_stats(wh->plan_cache, out);
}
