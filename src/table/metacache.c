/* metacache.c - parsed table metadata, kept by file location. A metadata file is never changed
 * after it is written (every version gets a new name), so a parsed copy can be shared by every
 * reader for as long as memory allows: loading an unchanged table, or the table one's own commit
 * just wrote, costs no read and no parse. Bounded by an estimate of the parsed size, least
 * recently used first out; shared by all threads. */
#include "table_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A parsed JSON document takes several times its text; this bounds the estimate. */
#define PARSED_PER_TEXT_BYTE 8
#define CACHE_MAX_BYTES      ((size_t)256 << 20)
#define CACHE_MAX_ENTRIES    4096 /* also bounds the lookup's walk */

struct entry {
    char *location;
    struct tn_metadata *meta; /* one reference held by the cache */
    size_t cost;
    struct entry *newer, *older;
};

static struct {
    pthread_mutex_t lock;
    struct entry *newest, *oldest;
    size_t bytes, entries;
    uint64_t hits, misses;
} cache = {PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0, 0, 0, 0};

static void unlink_entry(struct entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        cache.newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        cache.oldest = e->newer;
    e->newer = e->older = NULL;
}

static void push_newest(struct entry *e)
{
    e->older = cache.newest;
    e->newer = NULL;
    if (cache.newest)
        cache.newest->newer = e;
    cache.newest = e;
    if (!cache.oldest)
        cache.oldest = e;
}

static struct entry *find(const char *location)
{
    for (struct entry *e = cache.newest; e; e = e->older)
        if (strcmp(e->location, location) == 0)
            return e;
    return NULL;
}

static void drop(struct entry *e)
{
    unlink_entry(e);
    cache.bytes -= e->cost;
    cache.entries--;
    tn_metadata_free(e->meta);
    free(e->location);
    free(e);
}

struct tn_metadata *tn__metacache_get(const char *location)
{
    struct tn_metadata *m = NULL;
    struct entry *e;

    pthread_mutex_lock(&cache.lock);
    e = find(location);
    if (e) {
        unlink_entry(e);
        push_newest(e);
        m = tn_metadata_share(e->meta);
        cache.hits++;
    } else {
        cache.misses++;
    }
    pthread_mutex_unlock(&cache.lock);
    return m;
}

void tn__metacache_put(const char *location, const struct tn_metadata *m, size_t text_len)
{
    size_t cost = text_len * PARSED_PER_TEXT_BYTE;
    struct entry *e;

    if (cost > CACHE_MAX_BYTES / 4)
        return; /* one huge table must not push out everything else */
    pthread_mutex_lock(&cache.lock);
    if (!find(location)) {
        e = tn_calloc(1, sizeof(*e));
        e->location = tn_strdup(location);
        e->meta = tn_metadata_share(m);
        e->cost = cost;
        push_newest(e);
        cache.bytes += cost;
        cache.entries++;
        while ((cache.bytes > CACHE_MAX_BYTES || cache.entries > CACHE_MAX_ENTRIES) &&
               cache.oldest != e)
            drop(cache.oldest);
    }
    pthread_mutex_unlock(&cache.lock);
}

void tn_table_metadata_cache_stats(uint64_t *hits, uint64_t *misses, size_t *entries)
{
    pthread_mutex_lock(&cache.lock);
    *hits = cache.hits;
    *misses = cache.misses;
    *entries = cache.entries;
    pthread_mutex_unlock(&cache.lock);
}

void tn_table_metadata_cache_clear(void)
{
    pthread_mutex_lock(&cache.lock);
    while (cache.oldest)
        drop(cache.oldest);
    pthread_mutex_unlock(&cache.lock);
}
