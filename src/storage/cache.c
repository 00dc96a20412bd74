/* cache.c - a local directory of copies of immutable remote files (see storage_int.h for the
 * layout). Names are "bucket/key"; a name never changes content (tarn writes every file under
 * a new unique name, as Iceberg does), so an entry is never stale, only complete or absent:
 * downloads land in tmp/ and are renamed into objects/ once their size is verified. The index
 * (name -> size, last use) is a chained hash table under one mutex; eviction removes the least
 * recently used entries once the total passes the bound. */
#include "storage_int.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TMP_STALE_S 3600 /* leftovers in tmp/ older than this came from a crashed process */

struct entry {
    char *name;
    int64_t size;
    int64_t used_ms; /* wall clock, so it survives in the file's atime between processes */
    struct entry *next;
};

struct tn_cache {
    char *dir, *objects, *tmp, *stage;
    int64_t max_bytes;
    int64_t bytes;
    size_t nentries;
    size_t nbuckets;
    struct entry **buckets;
    struct tn_storage *st; /* for the counters */
    pthread_mutex_t mu;
};

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static struct entry **find_slot(struct tn_cache *c, const char *name)
{
    struct entry **pp = &c->buckets[hash_name(name) % c->nbuckets];
    while (*pp && strcmp((*pp)->name, name) != 0)
        pp = &(*pp)->next;
    return pp;
}

static void grow(struct tn_cache *c)
{
    size_t nb = c->nbuckets * 2;
    struct entry **b = tn_calloc(nb, sizeof(*b));

    for (size_t i = 0; i < c->nbuckets; i++) {
        struct entry *e = c->buckets[i];
        while (e) {
            struct entry *next = e->next;
            size_t k = hash_name(e->name) % nb;
            e->next = b[k];
            b[k] = e;
            e = next;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = nb;
}

/* Add or update "name" (mutex held). */
static void index_set(struct tn_cache *c, const char *name, int64_t size, int64_t used_ms)
{
    struct entry **pp = find_slot(c, name);

    if (*pp) {
        c->bytes += size - (*pp)->size;
        (*pp)->size = size;
        (*pp)->used_ms = used_ms;
        return;
    }
    if (c->nentries >= c->nbuckets) {
        grow(c);
        pp = find_slot(c, name);
    }
    *pp = tn_calloc(1, sizeof(**pp));
    (*pp)->name = tn_strdup(name);
    (*pp)->size = size;
    (*pp)->used_ms = used_ms;
    c->bytes += size;
    c->nentries++;
}

static void index_remove(struct tn_cache *c, const char *name)
{
    struct entry **pp = find_slot(c, name);
    struct entry *e = *pp;

    if (!e)
        return;
    *pp = e->next;
    c->bytes -= e->size;
    c->nentries--;
    free(e->name);
    free(e);
}

static int cmp_used(const void *a, const void *b)
{
    const struct entry *x = *(const struct entry *const *)a;
    const struct entry *y = *(const struct entry *const *)b;
    return (x->used_ms > y->used_ms) - (x->used_ms < y->used_ms);
}

/* Remove least recently used entries until the total fits (mutex held). */
static void evict(struct tn_cache *c)
{
    struct entry **all;
    size_t n = 0;
    int64_t cutoff = tn_now_ms() - (int64_t)TN_CACHE_GRACE_S * 1000;

    if (c->bytes <= c->max_bytes)
        return;
    all = tn_malloc((c->nentries + 1) * sizeof(*all));
    for (size_t i = 0; i < c->nbuckets; i++)
        for (struct entry *e = c->buckets[i]; e; e = e->next)
            if (e->used_ms < cutoff)
                all[n++] = e;
    qsort(all, n, sizeof(*all), cmp_used);
    for (size_t i = 0; i < n && c->bytes > c->max_bytes; i++) {
        char *path = tn_asprintf("%s/%s", c->objects, all[i]->name);
        unlink(path); /* a reader that has it open keeps reading its copy */
        free(path);
        tn__count(c->st, TN_C_CACHE_EVICTIONS, 1);
        index_remove(c, all[i]->name);
    }
    free(all);
}

/*---- Opening: rebuild the index from the directory ----*/

struct scan_state {
    struct tn_cache *c;
    size_t skip; /* length of "objects/" path prefix */
};
static _Thread_local struct scan_state *scan_current;

static int scan_visit(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    struct scan_state *s = scan_current;
    int64_t used;

    (void)ftw;
    if (flag != FTW_F || strlen(path) <= s->skip)
        return 0;
    used = (int64_t)sb->st_atim.tv_sec * 1000 + sb->st_atim.tv_nsec / 1000000;
    index_set(s->c, path + s->skip, (int64_t)sb->st_size, used);
    return 0;
}

static int tmp_visit(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)ftw;
    if (flag == FTW_F && sb->st_mtime < time(NULL) - TMP_STALE_S)
        unlink(path);
    return 0;
}

int tn__cache_open(const char *dir, int64_t max_bytes, struct tn_storage *st, struct tn_cache **out,
                   struct tn_err *err)
{
    struct tn_cache *c = tn_calloc(1, sizeof(*c));
    struct scan_state s;
    int rc;

    c->dir = tn_strdup(dir);
    c->objects = tn_asprintf("%s/objects", dir);
    c->tmp = tn_asprintf("%s/tmp", dir);
    c->stage = tn_asprintf("%s/stage", dir);
    c->max_bytes = max_bytes;
    c->st = st;
    c->nbuckets = 1024;
    c->buckets = tn_calloc(c->nbuckets, sizeof(*c->buckets));
    pthread_mutex_init(&c->mu, NULL);
    rc = tn__mkdirs(c->objects, err);
    if (!rc)
        rc = tn__mkdirs(c->tmp, err);
    if (!rc)
        rc = tn__mkdirs(c->stage, err);
    if (rc) {
        tn_err_prefix(err, "cache directory: ");
        tn__cache_close(c);
        return rc;
    }
    s.c = c;
    s.skip = strlen(c->objects) + 1;
    scan_current = &s;
    nftw(c->objects, scan_visit, 16, FTW_PHYS);
    nftw(c->tmp, tmp_visit, 4, FTW_PHYS);
    scan_current = NULL;
    evict(c);
    *out = c;
    return 0;
}

void tn__cache_close(struct tn_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nbuckets; i++) {
        struct entry *e = c->buckets[i];
        while (e) {
            struct entry *next = e->next;
            free(e->name);
            free(e);
            e = next;
        }
    }
    free(c->buckets);
    pthread_mutex_destroy(&c->mu);
    free(c->dir);
    free(c->objects);
    free(c->tmp);
    free(c->stage);
    free(c);
}

/*---- Lookups and changes ----*/

int tn__cache_get(struct tn_cache *c, const char *name, int64_t expect, int count, char **out_path,
                  int64_t *out_size)
{
    char *path = tn_asprintf("%s/%s", c->objects, name);
    struct timespec times[2];
    struct entry *e;
    int64_t size = -1;

    pthread_mutex_lock(&c->mu);
    e = *find_slot(c, name);
    if (e)
        size = e->size;
    pthread_mutex_unlock(&c->mu);
    {
        /* the index may be behind the directory: another process added or evicted files */
        struct stat sb;
        if (stat(path, &sb) != 0) {
            size = -1;
        } else if (size != (int64_t)sb.st_size) {
            size = (int64_t)sb.st_size;
            pthread_mutex_lock(&c->mu);
            index_set(c, name, size, tn_now_ms());
            pthread_mutex_unlock(&c->mu);
        }
    }
    if (size >= 0 && expect >= 0 && size != expect) {
        /* a copy of the wrong size cannot be this file: drop it and fetch again */
        tn__cache_drop(c, name);
        size = -1;
    }
    if (size < 0) {
        pthread_mutex_lock(&c->mu);
        index_remove(c, name);
        pthread_mutex_unlock(&c->mu);
        free(path);
        if (count)
            tn__count(c->st, TN_C_CACHE_MISSES, 1);
        return 0;
    }
    pthread_mutex_lock(&c->mu);
    e = *find_slot(c, name);
    if (e)
        e->used_ms = tn_now_ms();
    pthread_mutex_unlock(&c->mu);
    /* record the use in the file's atime too, for the next process's eviction order */
    times[0].tv_sec = 0;
    times[0].tv_nsec = UTIME_NOW;
    times[1].tv_sec = 0;
    times[1].tv_nsec = UTIME_OMIT;
    utimensat(AT_FDCWD, path, times, 0);
    if (count)
        tn__count(c->st, TN_C_CACHE_HITS, 1);
    if (out_path)
        *out_path = path;
    else
        free(path);
    if (out_size)
        *out_size = size;
    return 1;
}

char *tn__cache_tmp_path(struct tn_cache *c)
{
    char uuid[37];
    tn_uuid4(uuid);
    return tn_asprintf("%s/%s", c->tmp, uuid);
}

int tn__cache_put(struct tn_cache *c, const char *name, const char *tmp, int64_t size,
                  char **out_path, struct tn_err *err)
{
    char *path = tn_asprintf("%s/%s", c->objects, name);
    int rc = tn__mkdirs_parent(path, err);

    if (!rc && rename(tmp, path) != 0)
        rc = tn_fail(err, TN_EUNAVAILABLE, "cannot move %s to %s: %s", tmp, path, strerror(errno));
    if (rc) {
        free(path);
        return rc;
    }
    pthread_mutex_lock(&c->mu);
    index_set(c, name, size, tn_now_ms());
    evict(c);
    pthread_mutex_unlock(&c->mu);
    if (out_path)
        *out_path = path;
    else
        free(path);
    return 0;
}

void tn__cache_drop(struct tn_cache *c, const char *name)
{
    char *path = tn_asprintf("%s/%s", c->objects, name);
    char *staged = tn_asprintf("%s/%s", c->stage, name);

    pthread_mutex_lock(&c->mu);
    index_remove(c, name);
    pthread_mutex_unlock(&c->mu);
    unlink(path);
    unlink(staged);
    free(path);
    free(staged);
}

int tn__cache_stage_path(struct tn_cache *c, const char *name, char **out, struct tn_err *err)
{
    char *path = tn_asprintf("%s/%s", c->stage, name);
    int rc = tn__mkdirs_parent(path, err);

    if (rc) {
        free(path);
        return rc;
    }
    unlink(path); /* a leftover of a failed attempt */
    *out = path;
    return 0;
}

void tn__cache_usage(struct tn_cache *c, uint64_t *files, uint64_t *bytes)
{
    pthread_mutex_lock(&c->mu);
    *files = c->nentries;
    *bytes = (uint64_t)c->bytes;
    pthread_mutex_unlock(&c->mu);
}
