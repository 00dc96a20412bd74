/* fault.c - injected storage failures, for tests: the storage option "fault" (the entry point
 * passes the environment variable TARN_FAULT) is a comma-separated list of "op:N", which makes
 * the Nth call of that kind fail (once), "op:N@TEXT", the same counting only calls on locations
 * that contain TEXT (one table's folder, say, so that one server can fail a call of each of
 * several tables), and "delay:MS", which makes every S3 request wait first.
 * The kinds: write (a whole file written: metadata, manifests, lists), publish (a data file
 * DuckDB wrote is made durable or uploaded), delete, fsync (local disk), put and part (S3 PUT
 * requests and multipart parts), and any (every write, publish or delete). "op=N" is accepted as
 * well (the older TARN_S3_FAULT spelling). Every call is counted, armed or not, so that
 * TARN_STORAGE_STATS shows how many calls of each kind a command made (and each armed fault how
 * many calls it counted), the range a fault sweep covers. Thread-safe (atomic counters). */
#include "storage_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[TN_FAULT_NOPS] = {"write", "publish", "delete", "fsync",
                                                    "put",   "part",    "any"};

#define FAULTS_MAX 64

struct armed {
    int op;
    uint64_t fail_at; /* the call that fails, from 1 */
    char *match;      /* only calls on locations containing it count; NULL: all */
    uint64_t calls;   /* counted so far */
};

struct tn_fault {
    uint64_t calls[TN_FAULT_NOPS];
    struct armed armed[FAULTS_MAX];
    size_t narmed;
    int delay_ms;
};

int tn__fault_open(const char *spec, struct tn_fault **out, struct tn_err *err)
{
    struct tn_fault *f = tn_calloc(1, sizeof(*f));
    char *copy = tn_strdup(spec ? spec : ""), *item, *save = NULL;
    int rc = 0;

    for (item = strtok_r(copy, ",", &save); item && !rc; item = strtok_r(NULL, ",", &save)) {
        size_t len = strcspn(item, ":=");
        char *at = strchr(item, '@');
        int64_t n;
        int op = -1;

        if (at)
            *at++ = '\0';
        for (int i = 0; i < TN_FAULT_NOPS; i++)
            if (strlen(op_names[i]) == len && strncmp(item, op_names[i], len) == 0)
                op = i;
        if (!item[len] || tn_parse_i64(item + len + 1, &n) || n < 0 || n > 100000000) {
            rc = tn_fail(err, TN_EINPUT, "fault '%.40s': write op:N[@TEXT] (N a count) or delay:MS",
                         item);
        } else if (len == 5 && strncmp(item, "delay", 5) == 0) {
            f->delay_ms = (int)n;
        } else if (op < 0) {
            rc = tn_fail(err, TN_EINPUT,
                         "fault '%.40s': the kinds are write, publish, delete, fsync, put, part, "
                         "any and delay",
                         item);
        } else if (f->narmed == FAULTS_MAX) {
            rc = tn_fail(err, TN_EINPUT, "at most %d faults", FAULTS_MAX);
        } else if (n > 0) {
            struct armed *a = &f->armed[f->narmed++];
            a->op = op;
            a->fail_at = (uint64_t)n;
            a->match = at && *at ? tn_strdup(at) : NULL;
        }
    }
    free(copy);
    if (rc) {
        tn__fault_close(f);
        return rc;
    }
    *out = f;
    return 0;
}

void tn__fault_close(struct tn_fault *f)
{
    for (size_t i = 0; f && i < f->narmed; i++)
        free(f->armed[i].match);
    free(f);
}

int tn__fault_check(struct tn_fault *f, enum tn_fault_op op, const char *uri, struct tn_err *err)
{
    uint64_t n;
    int rc = 0;

    if (!f)
        return 0;
    __atomic_add_fetch(&f->calls[op], 1, __ATOMIC_RELAXED);
    for (size_t i = 0; i < f->narmed; i++) {
        struct armed *a = &f->armed[i];
        if (a->op != (int)op || (a->match && (!uri || !strstr(uri, a->match))))
            continue;
        n = __atomic_add_fetch(&a->calls, 1, __ATOMIC_RELAXED);
        if (n == a->fail_at && !rc)
            rc = tn_fail(err, TN_EUNAVAILABLE, "injected fault: %s %llu of %s failed", op_names[op],
                         (unsigned long long)n, uri ? uri : "storage");
    }
    if (!rc && (op == TN_FAULT_WRITE || op == TN_FAULT_PUBLISH || op == TN_FAULT_DELETE))
        return tn__fault_check(f, TN_FAULT_ANY, uri, err);
    return rc;
}

int tn__fault_delay_ms(const struct tn_fault *f)
{
    return f ? f->delay_ms : 0;
}

void tn__fault_print(const struct tn_fault *f, FILE *out)
{
    fprintf(out, "tarn storage calls:");
    for (int i = 0; f && i < TN_FAULT_NOPS; i++)
        fprintf(out, " %s=%llu", op_names[i],
                (unsigned long long)__atomic_load_n(&f->calls[i], __ATOMIC_RELAXED));
    for (size_t i = 0; f && i < f->narmed; i++)
        fprintf(out, " %s:%llu%s%s=%llu", op_names[f->armed[i].op],
                (unsigned long long)f->armed[i].fail_at, f->armed[i].match ? "@" : "",
                f->armed[i].match ? f->armed[i].match : "",
                (unsigned long long)__atomic_load_n(&f->armed[i].calls, __ATOMIC_RELAXED));
    fprintf(out, "\n");
}
