/* progress.c - the progress bar of a long ingest, drawn on stderr by a thread of its own five
 * times a second: bytes read of the total, the rate in MB/s and an estimate of rows/s.
 *
 * Local ingests: DuckDB reads a CSV or JSON file with read(2), so the file offset of its open
 * descriptor (/proc/self/fdinfo) is how far it got; Parquet is read with pread(2), which moves
 * no offset, so then the bytes this process has read (/proc/self/io rchar) stand in. Uploads:
 * the caller reports bytes sent (curl's transfer callback). Rows/s is estimated from the
 * newlines in the file's first MiB, and marked with "~". The bar appears only after a moment
 * (half a second for the command line), so quick loads print nothing but their summary. */
#include "cli/cli.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define SAMPLE_BYTES (1 << 20)

struct cli_progress {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    int poll;
    int shown;
    char *path;
    uint64_t total;
    uint64_t done;
    uint64_t rchar0;
    double bytes_per_row; /* 0: unknown */
    double t0;
    double show_after; /* seconds */
};

/* A number from a "key:\tvalue" line of a /proc file, or 0. */
static uint64_t proc_value(const char *file, const char *key)
{
    char line[256];
    size_t n = strlen(key);
    uint64_t v = 0;
    FILE *f = fopen(file, "re");

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, n) == 0 && line[n] == ':') {
            v = strtoull(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

/* The furthest offset of this process's descriptors open on p->path. */
static uint64_t fd_position(const struct cli_progress *p)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    uint64_t best = 0;

    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char link[300], target[4096], info[300];
        ssize_t n;
        if (e->d_name[0] == '.')
            continue;
        snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
        n = readlink(link, target, sizeof(target) - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        if (strcmp(target, p->path) != 0)
            continue;
        snprintf(info, sizeof(info), "/proc/self/fdinfo/%s", e->d_name);
        uint64_t pos = proc_value(info, "pos");
        if (pos > best)
            best = pos;
    }
    closedir(d);
    return best;
}

static void human_bytes(char *out, size_t cap, double v)
{
    if (v >= 1e9)
        snprintf(out, cap, "%.2f GB", v / 1e9);
    else if (v >= 1e6)
        snprintf(out, cap, "%.1f MB", v / 1e6);
    else
        snprintf(out, cap, "%.0f kB", v / 1e3);
}

static void human_count(char *out, size_t cap, double v)
{
    if (v >= 1e6)
        snprintf(out, cap, "%.2fM", v / 1e6);
    else if (v >= 1e3)
        snprintf(out, cap, "%.1fk", v / 1e3);
    else
        snprintf(out, cap, "%.0f", v);
}

static void draw(struct cli_progress *p, uint64_t done, double now)
{
    struct winsize ws;
    int cols = 80, width;
    double elapsed = now - p->t0, frac = p->total ? (double)done / (double)p->total : 0;
    char line[512], a[32], b[32], rate[32], rows[48] = "";
    size_t n = 0;

    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        cols = ws.ws_col;
    if (frac > 1)
        frac = 1;
    width = cols - 62;
    if (width > 30)
        width = 30;
    human_bytes(a, sizeof(a), (double)done);
    human_bytes(b, sizeof(b), (double)p->total);
    human_bytes(rate, sizeof(rate), elapsed > 0 ? (double)done / elapsed : 0);
    if (p->bytes_per_row > 0 && elapsed > 0) {
        char c[24];
        human_count(c, sizeof(c), (double)done / p->bytes_per_row / elapsed);
        snprintf(rows, sizeof(rows), "  ~%s rows/s", c);
    }
    n += (size_t)snprintf(line + n, sizeof(line) - n, "\r%3.0f%% ", frac * 100);
    if (width >= 10) {
        int fill = (int)(frac * width);
        line[n++] = '[';
        for (int i = 0; i < width; i++)
            line[n++] = i < fill ? '#' : (i == fill ? '>' : ' ');
        line[n++] = ']';
        line[n++] = ' ';
    }
    snprintf(line + n, sizeof(line) - n, "%s / %s  %s/s%s  %.0fs%s\x1b[K", a, b, rate, rows,
             elapsed, done >= p->total ? (p->poll ? "  writing" : "  loading on the server") : "");
    fputs(line, stderr);
    fflush(stderr);
    p->shown = 1;
}

static void *run(void *arg)
{
    struct cli_progress *p = arg;
    struct timespec ts;

    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        uint64_t done = p->done;
        double now = tn_monotonic_s();
        pthread_mutex_unlock(&p->mu);
        if (p->poll) {
            uint64_t pos = fd_position(p);
            if (pos == 0) {
                uint64_t r = proc_value("/proc/self/io", "rchar");
                pos = r > p->rchar0 ? r - p->rchar0 : 0;
            }
            if (pos > p->total)
                pos = p->total;
            if (pos > done)
                done = pos;
        }
        if (now - p->t0 >= p->show_after)
            draw(p, done, now);
        pthread_mutex_lock(&p->mu);
        if (done > p->done)
            p->done = done;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200 * 1000 * 1000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        if (!p->stop)
            pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Bytes per line in the first MiB of a text file; 0 for binary or compressed files. */
static double sample_bytes_per_row(const char *path)
{
    char *buf = tn_malloc(SAMPLE_BYTES);
    size_t lines = 0;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    double v = 0;

    if (fd < 0) {
        free(buf);
        return 0;
    }
    n = read(fd, buf, SAMPLE_BYTES);
    close(fd);
    if (n >= 4 && memcmp(buf, "PAR1", 4) != 0 && !memchr(buf, '\0', (size_t)n)) {
        for (ssize_t i = 0; i < n; i++)
            lines += buf[i] == '\n';
        if (lines > 1)
            v = (double)n / (double)lines;
    }
    free(buf);
    return v;
}

struct cli_progress *cli_progress_start(const char *path, uint64_t total, int poll,
                                        double show_after)
{
    struct cli_progress *p;

    if (!isatty(STDERR_FILENO))
        return NULL;
    p = tn_calloc(1, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->poll = poll;
    p->path = tn_strdup(path);
    p->total = total;
    p->t0 = tn_monotonic_s();
    p->show_after = show_after;
    p->rchar0 = proc_value("/proc/self/io", "rchar");
    p->bytes_per_row = sample_bytes_per_row(path);
    if (pthread_create(&p->thread, NULL, run, p) != 0) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
        free(p->path);
        free(p);
        return NULL;
    }
    return p;
}

void cli_progress_set(struct cli_progress *p, uint64_t done)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    if (done > p->done)
        p->done = done;
    pthread_mutex_unlock(&p->mu);
}

void cli_progress_stop(struct cli_progress *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    if (!p->shown && p->show_after <= 0)
        draw(p, p->done, tn_monotonic_s()); /* asked for always: at least once */
    if (p->shown) {
        fputs("\r\x1b[K", stderr);
        fflush(stderr);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->path);
    free(p);
}
