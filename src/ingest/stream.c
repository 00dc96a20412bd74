/* stream.c - an ingest converted while its file still arrives (POST /ingest, tarn ingest of
 * standard input).
 *
 * The caller hands every piece of the file to tn_stream_feed (it also keeps its own copy of the
 * whole file, the spool, for the fallback). The first TN_STREAM_HEAD bytes are held back; once
 * they are in, they are written, cut at the last record boundary, to a "head" file that
 * tn_source_stream_sql sniffs (dialect, header, columns and their types, with the caller's CSV
 * options), and a thread starts the ingest of a SELECT that reads a named pipe with those
 * columns given, so that nothing is sniffed from the pipe. The head and every later part go into
 * the pipe as they come, after input_limits.c's scan of them (a part past a limit ends the
 * stream: the caller's whole-file path refuses the file with the right message).
 *
 * The file is read in pieces, each by a COPY of its own that drains before the next starts:
 * DuckDB keeps the rows' order by holding the batches that finish early until its one writer
 * takes them, which a single COPY of the whole file lets grow with the file (hundreds of MiB a
 * GB). Once a piece holds its share of bytes, the pipe is closed after the next record boundary
 * (a newline outside double quotes in CSV; any newline in NDJSON) and a new pipe at the same
 * path takes the next piece -- after the old one is drained, so that the COPY reading it has it
 * open and sees its end -- starting with the file's first lines up to its header (the "prefix",
 * skipped rows included), so that the same SELECT reads every piece. A piece is sized to become
 * about one file of the table's target size: its bytes are the target times the ratio of CSV to
 * Parquet bytes of the pieces so far (FIRST_RATIO for the first), within PIECE_MIN..PIECE_MAX,
 * or the caller's fixed size (tn_stream_set_piece_size). A CSV whose dialect has a comment
 * character, a quote other than '"', an escape other than the quote, or a prefix not found
 * alike by lines and by records is read as one piece. The pieces' files go into one commit, in
 * the pieces' order.
 *
 * Nothing commits until the caller says so (tn_stream_finish with commit=1) once the whole
 * body is in: an aborted upload (tn_stream_end with complete=0, or tn_stream_free before the
 * end) closes the pipe, DuckDB finishes on what it has, and every piece's files are deleted
 * unpublished. A stream that fails -- a value that a later part holds and the head's types do
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
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The file's first bytes kept for the thread to find the prefix of later pieces in. */
#define LEAD_MAX (64 * 1024)
/* CSV (or NDJSON) bytes per byte of Parquet assumed for the first piece. */
#define FIRST_RATIO 4
/* A piece's bytes, whatever the ratio says: enough to make pieces worth their COPY, and few
 * enough that DuckDB's rows held back for order stay far below the server's memory. */
#define PIECE_MIN (32LL * 1024 * 1024)
#define PIECE_MAX (768LL * 1024 * 1024)

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
    enum tn_source_format format;
    char lead[LEAD_MAX]; /* the file's first bytes: read by the thread for the prefix */
    size_t lead_len;
    uint64_t piece_len;  /* the file's bytes in the current piece */
    int in_quotes;       /* CSV: the file so far ends inside double quotes */
    int cut_pending;     /* the current piece has ended: the next byte starts another */
    int64_t fixed_piece; /* tn_stream_set_piece_size; 0: sized for the target file size */

    /* shared with the thread, under lock */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    int threaded;
    int done;        /* the thread has finished */
    int input_ended; /* the pipe was closed: complete or not */
    int cut_short;   /* the input ended before the body did, or was refused by the scan */
    enum verdict verdict;
    int committing;      /* the verdict was COMMIT and the rows went on to commit */
    int cuttable;        /* the thread found how later pieces start (prefix_len, quoted) */
    int quoted;          /* a record ends at a newline outside double quotes, not at any */
    size_t prefix_len;   /* the lead's bytes every later piece starts with */
    int64_t piece_limit; /* bytes after which a piece ends at a record boundary; 0: no cut */
    int pieces_cut;      /* pipes opened after the first: the pieces there are, less one */
    int pieces_read;     /* pieces the thread has begun to read */
    int64_t bytes_cut;   /* the file's bytes in the pieces cut off */

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

/* The end of the first "lines" lines of the lead, counted by newlines and by records (newlines
 * outside double quotes): 0 when the two differ or the lead holds fewer. */
static size_t lines_end(const char *lead, size_t n, long lines)
{
    long by_lines = 0, by_records = 0;
    int quoted = 0;

    if (lines <= 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (lead[i] == '"')
            quoted = !quoted;
        else if (lead[i] == '\n') {
            by_lines++;
            by_records += !quoted;
            if (by_lines != by_records)
                return 0;
            if (by_lines == lines)
                return i + 1;
        }
    }
    return 0;
}

/* Whether and how later pieces can be cut off: the file's dialect is known now. */
static void plan_pieces(struct tn_stream *st)
{
    const struct tn_source *src = &st->src;
    long lines = src->found_skip + (src->found_header ? 1 : 0);
    int cuttable = 0, quoted = 0;
    size_t prefix = 0;

    if (src->format == TN_SOURCE_NDJSON) {
        cuttable = 1; /* no raw newline inside a JSON string */
    } else if (src->format == TN_SOURCE_CSV && src->dialect && !src->found_comment[0] &&
               (strcmp(src->found_quote, "\"") == 0 || !src->found_quote[0]) &&
               (!src->found_escape[0] || strcmp(src->found_escape, src->found_quote) == 0)) {
        quoted = src->found_quote[0] != '\0';
        prefix = lines_end(st->lead, st->lead_len, lines);
        cuttable = lines == 0 || prefix > 0;
    }
    pthread_mutex_lock(&st->lock);
    st->cuttable = cuttable;
    st->quoted = quoted;
    st->prefix_len = prefix;
    pthread_mutex_unlock(&st->lock);
}

/* The bytes a piece holds: "ratio" file bytes per byte of Parquet, for a file of "target". */
static int64_t piece_bytes(const struct tn_stream *st, int64_t target, double ratio)
{
    double want = (double)target * ratio;

    if (st->fixed_piece)
        return st->fixed_piece;
    if (want < (double)PIECE_MIN)
        return PIECE_MIN;
    if (want > (double)PIECE_MAX)
        return PIECE_MAX;
    return (int64_t)want;
}

/* write.c asks for each piece in turn (struct tn_write_options next_piece). */
static int next_piece(void *arg, int64_t target, int64_t written, int *more, struct tn_err *err)
{
    struct tn_stream *st = arg;
    int cut_short;

    pthread_mutex_lock(&st->lock);
    if (st->pieces_read == 0) {
        *more = 1;
        if (st->cuttable)
            st->piece_limit = piece_bytes(st, target, FIRST_RATIO);
    } else {
        while (st->pieces_cut < st->pieces_read && !st->input_ended)
            pthread_cond_wait(&st->cond, &st->lock);
        *more = st->pieces_cut >= st->pieces_read;
        if (*more && written > 0)
            st->piece_limit = piece_bytes(st, target, (double)st->bytes_cut / (double)written);
    }
    st->pieces_read += *more;
    cut_short = st->cut_short;
    pthread_mutex_unlock(&st->lock);
    if (cut_short)
        return tn_fail(err, TN_EINPUT, "the upload ended before the whole file was in");
    return 0;
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
        plan_pieces(st);
        io.next_piece = next_piece;
        io.next_piece_arg = st;
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
    st->format = format;
    st->lead_len = cut < sizeof(st->lead) ? cut : sizeof(st->lead);
    memcpy(st->lead, st->head.buf, st->lead_len);
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

/* Wait until the COPY reading the pipe has taken everything in it: it has the pipe open, and
 * reads its end once the write end is closed. -1 when the thread has finished. */
static int pipe_drain(struct tn_stream *st)
{
    for (;;) {
        struct timespec pause = {0, 1000000};
        int queued = 0;
        if (ioctl(st->fd, FIONREAD, &queued) != 0)
            return -1;
        if (queued == 0)
            return 0;
        if (thread_done(st))
            return -1;
        nanosleep(&pause, NULL);
    }
}

/* Close the pipe's write end, once what it holds is read (a COPY that has not opened the pipe
 * yet would wait for a writer forever): DuckDB reads to its end. */
static void close_input(struct tn_stream *st, int cut_short)
{
    if (st->fd >= 0) {
        pipe_drain(st);
        close(st->fd);
        st->fd = -1;
    }
    pthread_mutex_lock(&st->lock);
    st->input_ended = 1;
    st->cut_short |= cut_short;
    pthread_cond_broadcast(&st->cond); /* next_piece waits for a piece or the end */
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

/* The current piece ended and the file goes on: the next piece in a new pipe at the same path,
 * starting with the prefix. */
static int next_pipe(struct tn_stream *st, size_t prefix)
{
    if (pipe_drain(st))
        return -1;
    close(st->fd);
    st->fd = -1;
    unlink(st->pipe_path);
    if (mkfifo(st->pipe_path, 0600))
        return -1;
    st->fd = open(st->pipe_path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (st->fd < 0)
        return -1;
    fcntl(st->fd, F_SETPIPE_SZ, 1024 * 1024);
    pthread_mutex_lock(&st->lock);
    st->pieces_cut++;
    st->bytes_cut += (int64_t)st->piece_len;
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->lock);
    st->piece_len = 0;
    st->cut_pending = 0;
    return pipe_write(st, st->lead, prefix);
}

/* Follow the double quotes of CSV bytes. */
static void track_quotes(struct tn_stream *st, const char *p, size_t n)
{
    const char *end = p + n;

    if (st->format != TN_SOURCE_CSV)
        return;
    while (p < end && (p = memchr(p, '"', (size_t)(end - p))) != NULL) {
        st->in_quotes = !st->in_quotes;
        p++;
    }
}

/* How many of the "n" bytes at "data" the current piece takes: all of them, or, once it holds
 * "limit" bytes (0: no limit), those up to the end of the first record that ends after that
 * (the piece is over then). */
static size_t piece_take(struct tn_stream *st, const char *data, size_t n, int64_t limit,
                         int quoted)
{
    size_t i = n;

    if (limit && (int64_t)st->piece_len + (int64_t)n > limit)
        i = st->piece_len < (uint64_t)limit ? (size_t)((uint64_t)limit - st->piece_len) : 0;
    track_quotes(st, data, i);
    while (i < n) {
        const char *nl = memchr(data + i, '\n', n - i);
        size_t end = nl ? (size_t)(nl - data) + 1 : n;
        track_quotes(st, data + i, end - i);
        i = end;
        if (nl && (!quoted || !st->in_quotes)) {
            st->cut_pending = 1;
            break;
        }
    }
    return i;
}

static void feed_running(struct tn_stream *st, const char *data, size_t n)
{
    struct tn_err ignored;

    if (st->fd < 0)
        return;
    if (tn_input_scan_feed(&st->scan, data, n, &ignored) || st->scan.too_deep_at) {
        close_input(st, 1); /* the whole-file path refuses it */
        return;
    }
    while (n) {
        int64_t limit;
        size_t prefix, take;
        int quoted;

        pthread_mutex_lock(&st->lock);
        limit = st->cuttable ? st->piece_limit : 0;
        prefix = st->prefix_len;
        quoted = st->quoted;
        pthread_mutex_unlock(&st->lock);
        if (st->cut_pending && next_pipe(st, prefix)) {
            close_input(st, 1); /* the thread failed, or the pipe: the whole-file path reads it */
            return;
        }
        take = piece_take(st, data, n, limit, quoted);
        if (pipe_write(st, data, take)) {
            close_input(st, 1);
            return;
        }
        st->piece_len += take;
        data += take;
        n -= take;
    }
}

void tn_stream_set_piece_size(struct tn_stream *st, int64_t bytes)
{
    st->fixed_piece = bytes > 0 ? bytes : 0;
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
