/* stream.c - an ingest converted while its file still arrives (POST /ingest, tarn ingest of
 * standard input).
 *
 * The caller hands every piece of the file to tn_stream_feed (it also keeps its own copy of the
 * whole file, the spool, for the fallback). The first TN_STREAM_HEAD bytes are held back; once
 * they are in, they are written, cut at the last record boundary, to a "head" file that
 * tn_source_stream_sql sniffs (dialect, header, columns and their types, with the caller's CSV
 * options), and a thread starts the ingest of a SELECT that reads a named pipe with those
 * columns given, so that DuckDB reads the pipe once: one COPY, files of the table's target
 * size, the rows in the file's order. The head and every later piece go into the pipe as they
 * come, after input_limits.c's scan of them (a piece past a limit ends the stream: the caller's
 * whole-file path refuses the file with the right message).
 *
 * Nothing commits until the caller says so (tn_stream_finish with commit=1) once the whole
 * body is in: an aborted upload (tn_stream_end with complete=0, or tn_stream_free before the
 * end) closes the pipe, DuckDB finishes on what it has, and the rows' files are deleted
 * unpublished. A stream that fails -- a value that a later piece holds and the head's types do
 * not (text in a column of numbers, 1.5 after whole numbers), a longer line, a ragged row --
 * commits nothing either, and the caller ingests its spool the ordinary way, which sniffs the
 * whole file and names the refused row by the file's numbering. Files shorter than the head are
 * never streamed. */
#include "table/table_int.h"
#include "ingest/input_limits.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum stream_state { COLLECTING, RUNNING, DECLINED };
enum verdict { UNDECIDED, COMMIT, REFUSE };

struct tn_stream {
    struct tn_warehouse *wh;
    char ns[TN_NAME_MAX + 1];
    char name[TN_NAME_MAX + 1];
    struct tn_source src;
    char *src_name, *src_type; /* copies of src.name and src.content_type */
    struct tn_ingest_options io;
    char *branch, *key, *partition_by; /* copies of io's strings */
    char *temp_dir;
    char *head_path, *pipe_path;

    /* the connection's side */
    enum stream_state state;
    struct tn_buf head;
    int fd; /* the pipe's write end; -1 once closed */
    struct tn_input_scan scan;
    int scanning;

    /* shared with the thread, under lock */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    int threaded;
    int done;        /* the thread has finished */
    int input_ended; /* the pipe was closed: complete or not */
    int cut_short;   /* the input ended before the body did, or was refused by the scan */
    enum verdict verdict;
    int committing; /* the verdict was COMMIT and the rows went on to commit */

    /* the thread's result */
    int rc;
    struct tn_err err;
    struct tn_ingest_result res;
};

/*---- The thread ----*/

/* The rows are written: wait for the caller's word. */
static int before_commit(void *arg, struct tn_err *err)
{
    struct tn_stream *st = arg;
    enum verdict v;

    pthread_mutex_lock(&st->lock);
    while (st->verdict == UNDECIDED)
        pthread_cond_wait(&st->cond, &st->lock);
    v = st->verdict;
    if (v == COMMIT && st->cut_short)
        v = REFUSE;
    st->committing = v == COMMIT;
    pthread_mutex_unlock(&st->lock);
    if (v == COMMIT)
        return 0;
    return tn_fail(err, TN_EINPUT, "the upload ended before the whole file was in");
}

static void *run(void *arg)
{
    struct tn_stream *st = arg;
    struct tn_session *s = NULL;
    char *sql = NULL;
    int rc;

    rc = tn_session_open(st->wh->engine, &s, &st->err);
    if (!rc)
        rc = tn_source_stream_sql(st->wh->engine, s, st->head_path, st->pipe_path, &st->src, &sql,
                                  &st->err);
    if (!rc) {
        /* a table this creates keeps the dialect found in the head (tarn.csv.*) */
        json_t *dialect = tn_source_dialect_properties(&st->src);
        struct tn_ingest_options io = st->io;
        if (!io.create_properties)
            io.create_properties = dialect;
        rc = tn_table_ingest_opts(st->wh, s, st->ns, st->name, sql, &io, &st->res, &st->err);
        json_decref(dialect);
    }
    free(sql);
    tn_session_close(s);
    tn_source_release(&st->src);
    unlink(st->head_path);
    pthread_mutex_lock(&st->lock);
    st->rc = rc;
    st->done = 1;
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->lock);
    return NULL;
}

/*---- Starting ----*/

int tn_stream_new(struct tn_warehouse *wh, const char *temp_dir, const char *ns, const char *name,
                  const struct tn_source *src, const struct tn_ingest_options *io,
                  struct tn_stream **out)
{
    struct tn_stream *st = tn_calloc(1, sizeof(*st));
    char uuid[37];

    st->wh = wh;
    snprintf(st->ns, sizeof(st->ns), "%s", ns);
    snprintf(st->name, sizeof(st->name), "%s", name);
    st->src = *src;
    st->src_name = src->name ? tn_strdup(src->name) : NULL;
    st->src_type = src->content_type ? tn_strdup(src->content_type) : NULL;
    st->src.name = st->src_name;
    st->src.content_type = st->src_type;
    st->src.temp_dir = st->temp_dir = tn_strdup(temp_dir);
    st->src.dialect = NULL;
    st->src.whole_guard = NULL;
    st->src.plain_path = NULL;
    st->io = *io;
    st->io.branch = st->branch = io->branch ? tn_strdup(io->branch) : NULL;
    st->io.key = st->key = io->key ? tn_strdup(io->key) : NULL;
    st->io.partition_by = st->partition_by = io->partition_by ? tn_strdup(io->partition_by) : NULL;
    st->io.single_pass = 1;
    st->io.before_commit = before_commit;
    st->io.before_commit_arg = st;
    tn_uuid4(uuid);
    st->head_path = tn_asprintf("%s/upload-%ld-%s.head", temp_dir, (long)getpid(), uuid);
    st->pipe_path = tn_asprintf("%s/upload-%ld-%s.pipe", temp_dir, (long)getpid(), uuid);
    st->fd = -1;
    st->head = (struct tn_buf)TN_BUF_INIT(TN_CAP_INTERNAL);
    pthread_mutex_init(&st->lock, NULL);
    pthread_cond_init(&st->cond, NULL);
    st->state = io->upsert ? DECLINED : COLLECTING;
    *out = st;
    return 0;
}

/* The length of the head's whole records: up to its last newline outside double quotes (CSV)
 * or its last newline (NDJSON); 0 when it has none. */
static size_t whole_records(const char *data, size_t n, enum tn_source_format format)
{
    size_t cut = 0;
    int quoted = 0;

    for (size_t i = 0; i < n; i++) {
        if (data[i] == '"' && format == TN_SOURCE_CSV)
            quoted = !quoted;
        else if (data[i] == '\n' && !quoted)
            cut = i + 1;
    }
    return cut;
}

static int write_file(const char *path, const char *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int rc = 0;

    if (fd < 0)
        return -1;
    while (n && rc == 0) {
        ssize_t w = write(fd, data, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = -1;
        else {
            data += w;
            n -= (size_t)w;
        }
    }
    if (close(fd))
        rc = -1;
    return rc;
}

/* The head is in: decide whether to stream, and start. */
static void launch(struct tn_stream *st)
{
    const char *compression;
    enum tn_source_format by_bytes =
        tn_source_sniff_bytes(st->head.buf, st->head.len, &compression);
    enum tn_source_format format = tn_source_format_of(&st->src, by_bytes);
    size_t cut = whole_records(st->head.buf, st->head.len, format);

    st->state = DECLINED;
    if (compression || (format != TN_SOURCE_CSV && format != TN_SOURCE_NDJSON) || cut == 0)
        return;
    if (write_file(st->head_path, st->head.buf, cut)) {
        unlink(st->head_path);
        return;
    }
    if (mkfifo(st->pipe_path, 0600)) {
        unlink(st->head_path);
        return;
    }
    /* read-write: the open does not wait for a reader, and DuckDB's reads never meet a pipe
       without a writer before the end */
    st->fd = open(st->pipe_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (st->fd < 0) {
        unlink(st->head_path);
        unlink(st->pipe_path);
        return;
    }
    fcntl(st->fd, F_SETPIPE_SZ, 1024 * 1024); /* fewer wake-ups; the default works too */
    tn_input_scan_init(&st->scan, format, st->src.delim);
    st->scanning = 1;
    st->state = RUNNING;
    st->threaded = pthread_create(&st->thread, NULL, run, st) == 0;
    if (!st->threaded) {
        st->state = DECLINED;
        close(st->fd);
        st->fd = -1;
        unlink(st->head_path);
    }
}

/*---- Feeding ----*/

static int thread_done(struct tn_stream *st)
{
    int done;

    pthread_mutex_lock(&st->lock);
    done = st->done;
    pthread_mutex_unlock(&st->lock);
    return done;
}

/* Close the pipe's write end: DuckDB reads to its end. */
static void close_input(struct tn_stream *st, int cut_short)
{
    if (st->fd >= 0) {
        close(st->fd);
        st->fd = -1;
    }
    pthread_mutex_lock(&st->lock);
    st->input_ended = 1;
    st->cut_short |= cut_short;
    pthread_mutex_unlock(&st->lock);
}

/* Write into the pipe, waiting while it is full; gives up when the thread has finished (it
 * failed and reads no more). */
static int pipe_write(struct tn_stream *st, const char *data, size_t n)
{
    while (n) {
        ssize_t w = write(st->fd, data, n);
        if (w > 0) {
            data += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd p = {st->fd, POLLOUT, 0};
            if (thread_done(st))
                return -1;
            poll(&p, 1, 100);
            continue;
        }
        return -1;
    }
    return 0;
}

static void feed_running(struct tn_stream *st, const char *data, size_t n)
{
    struct tn_err ignored;

    if (st->fd < 0)
        return;
    if (tn_input_scan_feed(&st->scan, data, n, &ignored) || st->scan.too_deep_at ||
        pipe_write(st, data, n))
        close_input(st, 1); /* the whole-file path refuses it, or reads it */
}

void tn_stream_feed(struct tn_stream *st, const void *data, size_t n)
{
    if (st->state == COLLECTING) {
        size_t take = n;
        struct tn_err ignored;
        if (st->head.len + take > TN_STREAM_HEAD)
            take = TN_STREAM_HEAD - st->head.len;
        tn_buf_add(&st->head, data, take, &ignored);
        if (st->head.len < TN_STREAM_HEAD)
            return;
        launch(st);
        if (st->state == RUNNING)
            feed_running(st, st->head.buf, st->head.len);
        tn_buf_release(&st->head);
        data = (const char *)data + take;
        n -= take;
    }
    if (st->state == RUNNING && n)
        feed_running(st, data, n);
}

void tn_stream_end(struct tn_stream *st, int complete)
{
    struct tn_err ignored;

    if (st->state == COLLECTING) {
        st->state = DECLINED; /* shorter than the head: read as a whole */
        tn_buf_release(&st->head);
        return;
    }
    if (st->state != RUNNING || st->fd < 0)
        return;
    if (complete && (tn_input_scan_finish(&st->scan, &ignored) || st->scan.too_deep_at))
        complete = 0;
    close_input(st, !complete);
}

/*---- Finishing ----*/

static void decide(struct tn_stream *st, enum verdict v)
{
    pthread_mutex_lock(&st->lock);
    if (st->verdict == UNDECIDED)
        st->verdict = v;
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->lock);
}

static void join(struct tn_stream *st)
{
    if (st->threaded) {
        pthread_join(st->thread, NULL);
        st->threaded = 0;
    }
}

int tn_stream_finish(struct tn_stream *st, int commit, struct tn_ingest_result *res,
                     struct tn_err *err)
{
    if (st->state != RUNNING) {
        tn_stream_end(st, 0);
        return TN_STREAM_NOT_STREAMED;
    }
    if (st->fd >= 0)
        close_input(st, !commit);
    decide(st, commit ? COMMIT : REFUSE);
    join(st);
    st->state = DECLINED;
    if (st->rc) {
        /* committed rows are never read again, and a failure of the storage or the catalog
           would fail the whole-file path too (leaving twice the debris): both are the answer;
           anything else -- the data did not suit the stream -- the whole-file path redoes */
        int infrastructure = st->rc == TN_EUNAVAILABLE || st->rc == TN_ENOSPACE ||
                             st->rc == TN_EUPSTREAM || st->rc == TN_ECONFLICT ||
                             st->rc == TN_EFORBIDDEN;
        if ((st->committing && st->res.commit.snapshot_id) || (commit && infrastructure)) {
            *err = st->err;
            return st->rc;
        }
        return TN_STREAM_NOT_STREAMED;
    }
    *res = st->res;
    memset(&st->res, 0, sizeof(st->res));
    (void)err;
    return 0;
}

void tn_stream_free(struct tn_stream *st)
{
    if (!st)
        return;
    if (st->state == RUNNING) {
        if (st->fd >= 0)
            close_input(st, 1);
        decide(st, REFUSE);
        join(st);
        if (!st->rc)
            tn_ingest_result_release(&st->res);
    }
    if (st->fd >= 0)
        close(st->fd);
    if (st->scanning)
        tn_input_scan_release(&st->scan);
    unlink(st->pipe_path);
    unlink(st->head_path);
    tn_buf_release(&st->head);
    tn_source_release(&st->src);
    pthread_mutex_destroy(&st->lock);
    pthread_cond_destroy(&st->cond);
    free(st->src_name);
    free(st->src_type);
    free(st->branch);
    free(st->key);
    free(st->partition_by);
    free(st->temp_dir);
    free(st->head_path);
    free(st->pipe_path);
    free(st);
}
