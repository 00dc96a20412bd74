/* input_limits.c - one pass over a file to ingest before DuckDB sees it, refusing what DuckDB
 * handles badly (limits in core/limits.h):
 *   - JSON nested deeper than TN_INPUT_DEPTH_MAX: DuckDB's type inference recurses per level
 *     and overflows its stack some thousands of levels down. Brackets are counted outside
 *     strings; the whole file is scanned so that the error names the depth found.
 *   - More than TN_INPUT_COLUMNS_MAX columns: for CSV, the fields of the first record, counted
 *     for the delimiter given, else for each of DuckDB's candidates (, ; tab |), outside quotes
 *     (and on the first line whatever the quotes, when its quote does not close on it: the
 *     sniffer also tries reading without quotes); for JSON, the distinct keys of the records
 *     read_json samples (objects at the top level, or in a top-level array).
 *   - CSV lines of TN_INPUT_LINE_MAX bytes or more (tn_source_track_lines measures them);
 *     records, which quoted newlines make longer than their lines, are measured after a read
 *     failed (tn_input_longest_record).
 *   - Compressed files that grow too large: gzip and zstd are decompressed here, into a file
 *     that DuckDB then reads instead, and refused once past the limit, so that a small file
 *     cannot make DuckDB read billions of rows or spin on one endless line. (zlib decompresses
 *     faster than DuckDB's gzip reader, and DuckDB reads an uncompressed CSV file in parallel:
 *     a 50 MB gzip CSV file is ingested no slower than when DuckDB decompressed it.) */
#include "ingest/input_limits.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define CHUNK     (256 * 1024) /* read and decompress a piece this large at a time */
#define KEY_SLOTS 32768        /* the key set's slots: a power of two, at most half full */
#define DISK_KEEP (512ULL * 1024 * 1024) /* free space a decompressed file leaves on its disk */
_Static_assert(KEY_SLOTS >= 2 * (TN_INPUT_COLUMNS_MAX + 1), "the key set stays half empty");

static const char candidates[] = {',', ';', '\t', '|'}; /* DuckDB's sniffer's delimiters */
#define GIVEN 4 /* the slot of quoted[] and raw[] that counts a given delimiter */

void tn_input_scan_init(struct tn_input_scan *sc, enum tn_source_format format, const char *delim)
{
    memset(sc, 0, sizeof(*sc));
    sc->format = format;
    if (delim)
        snprintf(sc->delim, sizeof(sc->delim), "%.4s", delim);
}

void tn_input_scan_release(struct tn_input_scan *sc)
{
    free(sc->keys);
    sc->keys = NULL;
}

/*---- CSV: the first record's fields ----*/

/* The slot with the most delimiters in "counts". */
static size_t widest(const uint64_t *counts)
{
    size_t best = 0;

    for (size_t i = 1; i <= GIVEN; i++)
        if (counts[i] > counts[best])
            best = i;
    return best;
}

static int check_fields(const struct tn_input_scan *sc, const uint64_t *counts, const char *where,
                        struct tn_err *err)
{
    size_t slot = widest(counts);
    uint64_t fields = counts[slot] + 1;
    char shown[16];

    if (fields <= TN_INPUT_COLUMNS_MAX)
        return 0;
    if (slot == GIVEN)
        snprintf(shown, sizeof(shown), "'%s'", sc->delim);
    else if (candidates[slot] == '\t')
        snprintf(shown, sizeof(shown), "tabs");
    else
        snprintf(shown, sizeof(shown), "'%c'", candidates[slot]);
    return tn_fail(err, TN_EINPUT,
                   "the CSV file's %s has %llu fields (separated by %s); tarn reads at most %d "
                   "columns",
                   where, (unsigned long long)fields, shown, TN_INPUT_COLUMNS_MAX);
}

/* The first line ended: when a quote opened on it is still open, the fields counted whatever
 * the quotes must fit too. */
static int first_line_done(struct tn_input_scan *sc, struct tn_err *err)
{
    sc->line_done = 1;
    return sc->in_quotes ? check_fields(sc, sc->raw, "first line", err) : 0;
}

static int csv_first_record(struct tn_input_scan *sc, const unsigned char *p, size_t n,
                            struct tn_err *err)
{
    size_t dlen = strlen(sc->delim);
    uint32_t want = 0, mask = dlen >= 4 ? 0xffffffffu : (1u << (8 * dlen)) - 1;
    int rc;

    for (size_t i = 0; i < dlen; i++)
        want = want << 8 | (unsigned char)sc->delim[i];
    for (size_t i = 0; i < n && !sc->record_done; i++) {
        int slot = -1;
        switch (p[i]) {
        case '\n':
        case '\r':
            if (!sc->line_done && (rc = first_line_done(sc, err)))
                return rc;
            if (!sc->in_quotes) {
                sc->record_done = 1;
                sc->columns = sc->quoted[widest(sc->quoted)] + 1;
                return check_fields(sc, sc->quoted, "first record", err);
            }
            continue;
        case '"':
            sc->in_quotes = !sc->in_quotes;
            continue;
        default:
            break;
        }
        if (dlen) {
            sc->window = sc->window << 8 | p[i];
            if ((sc->window & mask) == want) {
                slot = GIVEN;
                sc->window = 0;
            }
        } else {
            const char *c = memchr(candidates, p[i], sizeof(candidates));
            slot = c ? (int)(c - candidates) : -1;
        }
        if (slot < 0)
            continue;
        if (!sc->line_done)
            sc->raw[slot]++;
        if (!sc->in_quotes)
            sc->quoted[slot]++;
    }
    return 0;
}

static int csv_feed(struct tn_input_scan *sc, const unsigned char *p, size_t n, struct tn_err *err)
{
    int rc = sc->record_done ? 0 : csv_first_record(sc, p, n, err);

    if (rc)
        return rc;
    tn_source_track_lines((const char *)p, n, &sc->line_len, &sc->longest_line);
    if (sc->longest_line >= (uint64_t)TN_INPUT_LINE_MAX)
        return tn_fail(err, TN_ETOOBIG,
                       "a line of the CSV file is at least %llu bytes long; tarn reads lines of "
                       "at most %ld MiB",
                       (unsigned long long)sc->longest_line, TN_INPUT_LINE_MAX >> 20);
    return 0;
}

/*---- JSON: nesting and keys ----*/

/* The key set: 1 when "h" is new. */
static int key_add(struct tn_input_scan *sc, uint64_t h)
{
    size_t i;

    if (!sc->keys)
        sc->keys = tn_calloc(KEY_SLOTS, sizeof(*sc->keys));
    h = h ? h : 1; /* 0 marks an empty slot */
    for (i = h & (KEY_SLOTS - 1); sc->keys[i]; i = (i + 1) & (KEY_SLOTS - 1))
        if (sc->keys[i] == h)
            return 0;
    sc->keys[i] = h;
    return 1;
}

/* Inside a record: an object at the top level, or in a top-level array. */
static int in_record(const struct tn_input_scan *sc)
{
    return (sc->depth == 1 && sc->open[1] == '{') ||
           (sc->depth == 2 && sc->open[1] == '[' && sc->open[2] == '{');
}

#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME  1099511628211ULL

static int json_feed(struct tn_input_scan *sc, const unsigned char *p, size_t n, struct tn_err *err)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (sc->in_string && c == '\n') {
            /* no string holds a raw newline: one left open is malformed, and the brackets on
             * the lines after it must still count */
            sc->in_string = sc->in_key = sc->escaped = 0;
        } else if (sc->in_string) {
            if (sc->in_key)
                sc->key_hash = (sc->key_hash ^ c) * FNV_PRIME;
            if (sc->escaped) {
                sc->escaped = 0;
            } else if (c == '\\') {
                sc->escaped = 1;
            } else if (c == '"') {
                sc->in_string = 0;
                if (sc->in_key && key_add(sc, sc->key_hash) && ++sc->columns > TN_INPUT_COLUMNS_MAX)
                    return tn_fail(err, TN_EINPUT,
                                   "the first %llu records of the JSON file have more than %d "
                                   "distinct keys; tarn reads at most %d columns",
                                   (unsigned long long)sc->records, TN_INPUT_COLUMNS_MAX,
                                   TN_INPUT_COLUMNS_MAX);
                sc->in_key = 0;
            }
            continue;
        }
        switch (c) {
        case '"':
            sc->in_string = 1;
            if (sc->expect_key && in_record(sc)) {
                sc->in_key = 1;
                sc->key_hash = FNV_OFFSET;
            }
            sc->expect_key = 0;
            break;
        case '[':
        case '{':
            if (++sc->depth > sc->depth_max)
                sc->depth_max = sc->depth;
            if (sc->depth > TN_INPUT_DEPTH_MAX) {
                if (!sc->too_deep_at)
                    sc->too_deep_at = sc->bytes + i + 1;
                break;
            }
            sc->open[sc->depth] = c;
            if (c == '{' && in_record(sc) && sc->records++ < TN_INPUT_KEY_SAMPLE)
                sc->expect_key = 1;
            break;
        case ']':
        case '}':
            if (sc->depth > 0)
                sc->depth--;
            sc->expect_key = 0;
            break;
        case ',':
            sc->expect_key = in_record(sc) && sc->records <= TN_INPUT_KEY_SAMPLE;
            break;
        default:
            break;
        }
    }
    return 0;
}

/*---- The scan ----*/

int tn_input_scan_feed(struct tn_input_scan *sc, const void *data, size_t n, struct tn_err *err)
{
    int rc = 0;

    if (sc->format == TN_SOURCE_CSV)
        rc = csv_feed(sc, data, n, err);
    else if (sc->format == TN_SOURCE_JSON || sc->format == TN_SOURCE_NDJSON)
        rc = json_feed(sc, data, n, err);
    sc->bytes += n;
    return rc;
}

int tn_input_scan_finish(struct tn_input_scan *sc, struct tn_err *err)
{
    int rc;

    if (sc->format == TN_SOURCE_CSV && !sc->record_done) {
        /* the file ends in its first record */
        if (!sc->line_done && (rc = first_line_done(sc, err)))
            return rc;
        sc->record_done = 1;
        sc->columns = sc->quoted[widest(sc->quoted)] + 1;
        return check_fields(sc, sc->quoted, "first record", err);
    }
    if (sc->too_deep_at)
        return tn_fail(err, TN_EINPUT,
                       "the JSON file nests arrays and objects %d levels deep (past %d at byte "
                       "%llu); tarn reads at most %d levels",
                       sc->depth_max, TN_INPUT_DEPTH_MAX, (unsigned long long)sc->too_deep_at - 1,
                       TN_INPUT_DEPTH_MAX);
    return 0;
}

uint64_t tn_input_decompressed_default(uint64_t size)
{
    uint64_t limit = size > TN_INPUT_DECOMPRESSED_CEILING / TN_INPUT_DECOMPRESSED_RATIO
                         ? TN_INPUT_DECOMPRESSED_CEILING
                         : size * TN_INPUT_DECOMPRESSED_RATIO;

    return limit < TN_INPUT_DECOMPRESSED_FLOOR ? TN_INPUT_DECOMPRESSED_FLOOR : limit;
}

/*---- Files ----*/

/* Where decompressed data goes: scanned, then written to "fd", within "max" bytes and the
 * free space of the disk ("room"). */
struct sink {
    struct tn_input_scan *sc;
    const char *compression;
    uint64_t max, room;
    int fd;
    const char *path;
};

static int feed_decompressed(struct sink *k, const unsigned char *p, size_t n, struct tn_err *err)
{
    int rc;

    if (n > k->max - k->sc->bytes)
        return tn_fail(err, TN_ETOOBIG,
                       "the %s file grows past %llu bytes when decompressed; tarn stops there "
                       "(a larger file needs a higher --max-decompressed, of tarn ingest or "
                       "tarn serve)",
                       k->compression, (unsigned long long)k->max);
    if (n > k->room - k->sc->bytes)
        return tn_fail(err, TN_EUNAVAILABLE,
                       "the %s file grows past %llu bytes when decompressed, more than the free "
                       "space of the disk holding %s; free some space there",
                       k->compression, (unsigned long long)k->room, k->path);
    rc = tn_input_scan_feed(k->sc, p, n, err);
    while (!rc && n > 0) {
        ssize_t put = write(k->fd, p, n);
        if (put < 0 && errno == EINTR)
            continue;
        if (put < 0)
            return tn_fail(err, TN_EUNAVAILABLE, "cannot write %s: %s", k->path, strerror(errno));
        p += put;
        n -= (size_t)put;
    }
    return rc;
}

static int corrupt(const char *compression, const char *why, struct tn_err *err)
{
    return tn_fail(err, TN_EINPUT, "the file is not valid %s data (%s)", compression, why);
}

/* gzip, member after member; bytes after the last member that do not start another one are
 * ignored, as gzip -d does. */
static int scan_gzip(struct sink *k, int fd, unsigned char *in, unsigned char *out,
                     struct tn_err *err)
{
    z_stream zs;
    int zrc = Z_OK, rc = 0, ended = 0, fresh = 1, trailing = 0, members = 0;
    ssize_t got;

    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 15 + 16) != Z_OK)
        return tn_fail(err, TN_EINTERNAL, "cannot start zlib");
    while (!rc && !trailing && (got = read(fd, in, CHUNK)) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            rc = tn_fail(err, TN_EINTERNAL, "cannot read the file to ingest: %s", strerror(errno));
            break;
        }
        zs.next_in = in;
        zs.avail_in = (uInt)got;
        do {
            if (ended) { /* another member follows */
                inflateReset(&zs);
                ended = 0;
                fresh = 1;
            }
            zs.next_out = out;
            zs.avail_out = CHUNK;
            zrc = inflate(&zs, Z_NO_FLUSH);
            if (zrc == Z_DATA_ERROR && fresh && members > 0) {
                trailing = 1;
                break;
            }
            if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) {
                rc = corrupt("gzip", zs.msg ? zs.msg : "inflate failed", err);
                break;
            }
            fresh = 0;
            ended = zrc == Z_STREAM_END;
            members += ended;
            rc = feed_decompressed(k, out, CHUNK - zs.avail_out, err);
        } while (!rc && (zs.avail_out == 0 || (ended && zs.avail_in > 0)));
    }
    if (!rc && !ended && !trailing)
        rc = corrupt("gzip", "it ends before its last member does", err);
    inflateEnd(&zs);
    return rc;
}

static int scan_zstd(struct sink *k, int fd, unsigned char *in, unsigned char *out,
                     struct tn_err *err)
{
    ZSTD_DCtx *d = ZSTD_createDCtx();
    size_t last = 0;
    ssize_t got;
    int rc = 0;

    if (!d)
        return tn_fail(err, TN_EINTERNAL, "cannot start zstd");
    while (!rc && (got = read(fd, in, CHUNK)) != 0) {
        ZSTD_inBuffer ib = {in, 0, 0};
        if (got < 0) {
            if (errno == EINTR)
                continue;
            rc = tn_fail(err, TN_EINTERNAL, "cannot read the file to ingest: %s", strerror(errno));
            break;
        }
        ib.size = (size_t)got;
        for (;;) {
            ZSTD_outBuffer ob = {out, CHUNK, 0};
            last = ZSTD_decompressStream(d, &ob, &ib);
            if (ZSTD_isError(last)) {
                rc = corrupt("zstd", ZSTD_getErrorName(last), err);
                break;
            }
            rc = feed_decompressed(k, out, ob.pos, err);
            if (rc || (ib.pos == ib.size && ob.pos < ob.size))
                break;
        }
    }
    if (!rc && last != 0)
        rc = corrupt("zstd", "it ends inside a frame", err);
    ZSTD_freeDCtx(d);
    return rc;
}

/*---- CSV records ----*/

int tn_input_longest_record(const char *path, char quote, char escape, uint64_t *longest,
                            struct tn_err *err)
{
    unsigned char *buf = tn_malloc(CHUNK);
    uint64_t record = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC), in_quotes = 0, escaped = 0, rc = 0;
    ssize_t n;

    *longest = 0;
    if (fd < 0) {
        free(buf);
        return tn_fail(err, TN_EINTERNAL, "cannot open %s: %s", path, strerror(errno));
    }
    while ((n = read(fd, buf, CHUNK)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            unsigned char c = buf[i];
            record++;
            if (escaped)
                escaped = 0;
            else if (in_quotes && c == (unsigned char)escape && escape != quote)
                escaped = 1;
            else if (c == (unsigned char)quote)
                in_quotes = !in_quotes;
            else if (c == '\n' && !in_quotes) {
                if (record > *longest)
                    *longest = record;
                record = 0;
            }
        }
    }
    if (n < 0)
        rc = tn_fail(err, TN_EINTERNAL, "cannot read %s: %s", path, strerror(errno));
    if (record > *longest)
        *longest = record;
    close(fd);
    free(buf);
    return rc;
}

/* An uncompressed file, mapped and fed at once (so a long line's length is measured whole): a
 * CSV scan reads only its first record and the pages near tn_source_track_lines' windows. */
static int scan_plain(struct tn_input_scan *sc, int fd, struct tn_err *err)
{
    struct stat sb;
    void *map;
    int rc;

    if (fstat(fd, &sb) || sb.st_size <= 0)
        return 0;
    map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED)
        return tn_fail(err, TN_EINTERNAL, "cannot map the file to ingest: %s", strerror(errno));
    rc = tn_input_scan_feed(sc, map, (size_t)sb.st_size, err);
    munmap(map, (size_t)sb.st_size);
    return rc;
}

/* Decompress the open file "fd" into a new file under "temp_dir", scanning it. */
static int decompress(struct tn_input_scan *sc, int fd, const char *compression,
                      uint64_t max_decompressed, const char *temp_dir, char **plain_path,
                      struct tn_err *err)
{
    struct sink k = {sc, compression, max_decompressed, UINT64_MAX, -1, NULL};
    unsigned char *in, *out;
    struct statvfs vfs;
    struct stat sb;
    char uuid[37];
    int rc;

    if (!temp_dir)
        return tn_fail(err, TN_EINTERNAL, "no directory to decompress the %s file into",
                       compression);
    if (!k.max)
        k.max = tn_input_decompressed_default(
            fstat(fd, &sb) == 0 && sb.st_size > 0 ? (uint64_t)sb.st_size : 0);
    if (mkdir(temp_dir, 0700) && errno != EEXIST)
        return tn_fail(err, TN_EUNAVAILABLE, "cannot create %s: %s", temp_dir, strerror(errno));
    if (statvfs(temp_dir, &vfs) == 0) {
        uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
        k.room = avail > DISK_KEEP ? avail - DISK_KEEP : 0;
    }
    tn_uuid4(uuid);
    *plain_path = tn_asprintf("%s/decompressed-%s", temp_dir, uuid);
    k.path = *plain_path;
    k.fd = open(k.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (k.fd < 0) {
        rc = tn_fail(err, TN_EUNAVAILABLE, "cannot create %s: %s", k.path, strerror(errno));
        free(*plain_path);
        *plain_path = NULL;
        return rc;
    }
    in = tn_malloc(CHUNK);
    out = tn_malloc(CHUNK);
    rc = strcmp(compression, "zstd") == 0 ? scan_zstd(&k, fd, in, out, err)
                                          : scan_gzip(&k, fd, in, out, err);
    free(in);
    free(out);
    if (close(k.fd) && !rc)
        rc = tn_fail(err, TN_EUNAVAILABLE, "cannot write %s: %s", k.path, strerror(errno));
    if (rc) {
        unlink(*plain_path);
        free(*plain_path);
        *plain_path = NULL;
    }
    return rc;
}

int tn_input_scan_file(struct tn_input_scan *sc, const char *path, const char *compression,
                       uint64_t max_decompressed, const char *temp_dir, char **plain_path,
                       struct tn_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    int rc;

    *plain_path = NULL;
    if (fd < 0)
        return tn_fail(err, TN_EINPUT, "cannot open %s: %s", path, strerror(errno));
    rc = compression ? decompress(sc, fd, compression, max_decompressed, temp_dir, plain_path, err)
                     : scan_plain(sc, fd, err);
    close(fd);
    if (!rc)
        rc = tn_input_scan_finish(sc, err);
    if (rc && *plain_path) {
        unlink(*plain_path);
        free(*plain_path);
        *plain_path = NULL;
    }
    return rc;
}
