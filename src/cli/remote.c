/* remote.c - the --remote client: the command line's requests to a running `tarn serve`, over
 * libcurl (the only file of src/cli that includes curl.h). One easy handle is kept for the
 * whole run, so the shell's requests reuse one keep-alive connection.
 *
 * Errors: a non-2xx answer carries SPEC's body {"error": {"message", "type", "code"}}; the type
 * maps back to the TN_E* code (else the HTTP status does), so the exit status is the one a local
 * run would give, and the message is the server's. A server that cannot be reached is
 * TN_EUNAVAILABLE. Uploads stream the file through a read callback with its size known up
 * front; results stream to their sink as they arrive. */
#include "cli/cli.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RESPONSE_MAX  (512L * 1024 * 1024) /* an answer kept in memory */
#define UPLOAD_BUFFER (512L * 1024)

struct cli_remote {
    CURL *h;
    char *base; /* scheme://host:port[/prefix], no trailing slash */
    char *auth; /* "Authorization: Bearer ..." or NULL */
    char errbuf[CURL_ERROR_SIZE];
};

int cli_remote_open(const char *url, const char *token, struct cli_remote **out, struct tn_err *err)
{
    struct cli_remote *r;
    size_t n;

    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return tn_fail(err, TN_EINPUT,
                       "--remote takes the server's URL, e.g. http://127.0.0.1:8000, not '%.100s'",
                       url);
    if (token && (strchr(token, '\n') || strchr(token, '\r')))
        return tn_fail(err, TN_EINPUT, "--token must be one line");
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return tn_fail(err, TN_EINTERNAL, "cannot initialise libcurl");
    r = tn_calloc(1, sizeof(*r));
    r->h = curl_easy_init();
    if (!r->h) {
        free(r);
        curl_global_cleanup();
        return tn_fail(err, TN_EINTERNAL, "cannot initialise libcurl");
    }
    r->base = tn_strdup(url);
    n = strlen(r->base);
    while (n > 0 && r->base[n - 1] == '/')
        r->base[--n] = '\0';
    if (token && *token)
        r->auth = tn_asprintf("Authorization: Bearer %s", token);
    *out = r;
    return 0;
}

void cli_remote_close(struct cli_remote *r)
{
    if (!r)
        return;
    curl_easy_cleanup(r->h);
    free(r->base);
    free(r->auth);
    free(r);
    curl_global_cleanup();
}

/*---- One request ----*/

struct call {
    const char *method;
    const char *path;
    const char *body; /* an in-memory body (JSON), or NULL */
    const char *content_type;
    FILE *upload; /* a streamed body of "upload_size" bytes (-1: unknown, sent chunked) */
    int64_t upload_size;
    curl_mime *parts; /* or a multipart/form-data body of files, or NULL */
    struct cli_progress *progress;
    FILE *sink; /* a 2xx answer whose type starts with sink_type goes here */
    const char *sink_type;
    /* filled in */
    long status;
    int to_sink;
    int decided;
    int too_big;
    int sink_failed;
    char *content_type_got;
    struct tn_buf resp;
    CURL *h;
};

static size_t on_write(char *data, size_t size, size_t n, void *arg)
{
    struct call *c = arg;
    size_t len = size * n;

    if (!c->decided) {
        char *ct = NULL;
        c->decided = 1;
        curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &c->status);
        curl_easy_getinfo(c->h, CURLINFO_CONTENT_TYPE, &ct);
        c->content_type_got = tn_strdup(ct ? ct : "");
        c->to_sink = c->sink && c->status / 100 == 2 && c->sink_type &&
                     strncmp(c->content_type_got, c->sink_type, strlen(c->sink_type)) == 0;
    }
    if (c->to_sink) {
        if (fwrite(data, 1, len, c->sink) != len) {
            c->sink_failed = errno ? errno : EIO;
            return 0;
        }
        return len;
    }
    if (tn_buf_add(&c->resp, data, len, NULL)) {
        c->too_big = 1;
        return 0;
    }
    return len;
}

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
    struct call *c = arg;
    size_t got = fread(buf, 1, size * n, c->upload);

    if (got == 0 && ferror(c->upload))
        return CURL_READFUNC_ABORT;
    return got;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct call *c = arg;

    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    cli_progress_set(c->progress, (uint64_t)ulnow);
    return cli_interrupted(); /* non-zero aborts the transfer */
}

/* The TN_E* code of an error type name, else of an HTTP status. */
static int code_of(const char *type, long status)
{
    static const int codes[] = {
#define TN_ERR_LIST(code, name, http, exit) code,
        TN_ERR_MAP(TN_ERR_LIST)
#undef TN_ERR_LIST
    };

    for (size_t i = 0; type && i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strcmp(tn_err_type(codes[i]), type) == 0)
            return codes[i];
    switch (status) {
    case 400:
    case 405:
        return TN_EINPUT;
    case 401:
        return TN_EAUTH;
    case 403:
        return TN_EFORBIDDEN;
    case 404:
        return TN_ENOTFOUND;
    case 409:
        return TN_ECONFLICT;
    case 413:
        return TN_ETOOBIG;
    case 415:
        return TN_EMEDIATYPE;
    case 422:
        return TN_EUNPROCESSABLE;
    case 502:
    case 503:
    case 504:
        return TN_EUNAVAILABLE;
    case 507:
        return TN_ENOSPACE;
    default:
        return status >= 400 && status < 500 ? TN_EINPUT : TN_EINTERNAL;
    }
}

/* A non-2xx answer as an error with the server's message. */
static int server_error(const struct call *c, struct tn_err *err)
{
    json_t *j = c->resp.len ? json_loadb(c->resp.buf, c->resp.len, 0, NULL) : NULL;
    json_t *e = json_object_get(j, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *type = json_string_value(json_object_get(e, "type"));
    int rc;

    if (msg) {
        rc = tn_fail(err, code_of(type, c->status), "%s", msg);
    } else {
        /* not tarn's error body: say what came back, on one line */
        char text[201];
        size_t n = c->resp.len < 200 ? c->resp.len : 200;
        memcpy(text, c->resp.buf ? c->resp.buf : "", n);
        text[n] = '\0';
        for (size_t i = 0; i < n; i++)
            if (text[i] == '\n' || text[i] == '\r')
                text[i] = ' ';
        rc = tn_fail(err, code_of(NULL, c->status), "the server answered HTTP %ld to %s %s%s%s",
                     c->status, c->method, c->path, n ? ": " : "", text);
    }
    json_decref(j);
    if (c->status == 401 && err) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof(err->msg) - n,
                 "; give the server's token with --token T or TARN_TOKEN=T");
    }
    return rc;
}

static int perform(struct cli_remote *r, struct call *c, struct tn_err *err)
{
    struct curl_slist *headers = NULL;
    char *url = tn_asprintf("%s%s", r->base, c->path);
    char *ctype = NULL;
    CURLcode cc;
    int rc = 0;

    c->h = r->h;
    c->resp.max = RESPONSE_MAX;
    curl_easy_reset(r->h);
    r->errbuf[0] = '\0';
    curl_easy_setopt(r->h, CURLOPT_URL, url);
    curl_easy_setopt(r->h, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(r->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(r->h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(r->h, CURLOPT_USERAGENT, "tarn/" TN_CLI_VERSION);
    curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(r->h, CURLOPT_WRITEDATA, c);
    if (r->auth)
        headers = curl_slist_append(headers, r->auth);
    if (c->content_type && !c->parts) {
        ctype = tn_asprintf("Content-Type: %s", c->content_type);
        headers = curl_slist_append(headers, ctype);
    }
    if (c->upload) {
        curl_easy_setopt(r->h, CURLOPT_POST, 1L);
        curl_easy_setopt(r->h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(r->h, CURLOPT_READDATA, c);
        curl_easy_setopt(r->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->upload_size);
        curl_easy_setopt(r->h, CURLOPT_UPLOAD_BUFFERSIZE, UPLOAD_BUFFER);
    } else if (c->parts) {
        curl_easy_setopt(r->h, CURLOPT_MIMEPOST, c->parts);
        curl_easy_setopt(r->h, CURLOPT_UPLOAD_BUFFERSIZE, UPLOAD_BUFFER);
    } else if (c->body) {
        curl_easy_setopt(r->h, CURLOPT_POSTFIELDS, c->body);
        curl_easy_setopt(r->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(c->body));
    }
    curl_easy_setopt(r->h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(r->h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(r->h, CURLOPT_XFERINFODATA, c);
    if (strcmp(c->method, "GET") != 0 && strcmp(c->method, "POST") != 0)
        curl_easy_setopt(r->h, CURLOPT_CUSTOMREQUEST, c->method);
    else if (strcmp(c->method, "POST") == 0 && !c->upload && !c->body && !c->parts)
        curl_easy_setopt(r->h, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, headers);
    cc = curl_easy_perform(r->h);
    if (!c->decided)
        curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &c->status);
    if (cc != CURLE_OK) {
        if (c->too_big)
            rc = tn_fail(err, TN_ETOOBIG,
                         "the server's answer is larger than %ld MiB; use --format csv",
                         RESPONSE_MAX >> 20);
        else if (cc == CURLE_ABORTED_BY_CALLBACK && cli_interrupted())
            rc = tn_fail(err, TN_EUNAVAILABLE, "interrupted");
        else if (c->sink_failed)
            rc =
                tn_fail(err, TN_EINTERNAL, "cannot write the result: %s", strerror(c->sink_failed));
        else if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
                 cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_GOT_NOTHING ||
                 cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR)
            rc = tn_fail(err, TN_EUNAVAILABLE, "cannot reach the tarn server at %s: %s", r->base,
                         r->errbuf[0] ? r->errbuf : curl_easy_strerror(cc));
        else if (cc == CURLE_READ_ERROR || cc == CURLE_ABORTED_BY_CALLBACK)
            rc = tn_fail(err, TN_EINPUT, "cannot read the file to upload");
        else if (c->status >= 400 && c->resp.len)
            rc = server_error(c, err); /* the server stopped the upload early and said why */
        else
            rc = tn_fail(err, TN_EUNAVAILABLE, "%s %s%s: %s", c->method, r->base, c->path,
                         r->errbuf[0] ? r->errbuf : curl_easy_strerror(cc));
    } else if (c->status / 100 != 2) {
        rc = server_error(c, err);
    }
    curl_slist_free_all(headers);
    free(ctype);
    free(url);
    return rc;
}

static void call_release(struct call *c)
{
    tn_buf_release(&c->resp);
    free(c->content_type_got);
}

/* The JSON of a 2xx answer (NULL when there is none). */
static int answer_json(struct call *c, json_t **out, struct tn_err *err)
{
    json_error_t je;
    json_t *j;

    if (!out)
        return 0;
    *out = NULL;
    if (!c->resp.len)
        return 0;
    j = json_loadb(c->resp.buf, c->resp.len, 0, &je);
    if (!j)
        return tn_fail(err, TN_EINTERNAL, "the server's answer to %s %s is not JSON: %s", c->method,
                       c->path, je.text);
    *out = j;
    return 0;
}

int cli_remote_json(struct cli_remote *r, const char *method, const char *path, json_t *body,
                    json_t **out, struct tn_err *err)
{
    struct call c = {0};
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    int rc;

    c.method = method;
    c.path = path;
    c.body = text;
    c.content_type = text ? "application/json" : NULL;
    c.resp = (struct tn_buf)TN_BUF_INIT(RESPONSE_MAX);
    rc = perform(r, &c, err);
    if (!rc)
        rc = answer_json(&c, out, err);
    call_release(&c);
    free(text);
    return rc;
}

int cli_remote_query(struct cli_remote *r, const char *sql, const char *format,
                     const struct cli_query *q, FILE *sink, struct tn_buf *buf, json_t **out_json,
                     struct tn_err *err)
{
    struct call c = {0};
    json_t *body = json_pack("{s:s, s:s}", "sql", sql, "format", format);
    char *text;
    int rc;

    if (q && q->snapshot_id != -1)
        json_object_set_new(body, "snapshot_id", json_integer((json_int_t)q->snapshot_id));
    if (q && q->as_of)
        json_object_set_new(body, "as_of", json_string(q->as_of));
    if (q && q->limit > 0)
        json_object_set_new(body, "limit", json_integer((json_int_t)q->limit));
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    c.method = "POST";
    c.path = "/query";
    c.body = text;
    c.content_type = "application/json";
    c.sink = sink;
    c.sink_type = strcmp(format, "csv") == 0       ? "text/csv"
                  : strcmp(format, "arrow") == 0   ? "application/vnd.apache.arrow.stream"
                  : strcmp(format, "parquet") == 0 ? "application/vnd.apache.parquet"
                                                   : "application/x-ndjson";
    c.resp = (struct tn_buf)TN_BUF_INIT(RESPONSE_MAX);
    *out_json = NULL;
    rc = perform(r, &c, err);
    if (!rc && strncmp(c.content_type_got ? c.content_type_got : "", "application/json", 16) == 0)
        rc = answer_json(&c, out_json, err);
    else if (!rc && !c.to_sink && buf)
        rc = tn_buf_add(buf, c.resp.buf ? c.resp.buf : "", c.resp.len, err);
    call_release(&c);
    free(text);
    return rc;
}

int cli_remote_upload(struct cli_remote *r, const char *path, const char *const *files,
                      size_t nfiles, const char *content_type, struct cli_progress *progress,
                      json_t **out, struct tn_err *err)
{
    struct call c = {0};
    struct stat sb;
    int rc = 0;

    c.method = "POST";
    c.path = path;
    c.content_type = content_type;
    c.progress = progress;
    c.resp = (struct tn_buf)TN_BUF_INIT(RESPONSE_MAX);
    if (nfiles == 1 && strcmp(files[0], "-") == 0) {
        /* standard input, of a size unknown until it ends: chunked */
        int fd = dup(STDIN_FILENO);
        c.upload = fd < 0 ? NULL : fdopen(fd, "rb");
        c.upload_size = -1;
        if (!c.upload)
            rc = tn_fail(err, TN_EINPUT, "cannot read standard input: %s", strerror(errno));
    } else if (nfiles == 1) {
        c.upload = fopen(files[0], "rbe");
        if (!c.upload || fstat(fileno(c.upload), &sb) != 0)
            rc = tn_fail(err, errno == ENOENT ? TN_ENOTFOUND : TN_EINPUT, "cannot open %s: %s",
                         files[0], strerror(errno));
        else
            c.upload_size = (int64_t)sb.st_size;
    } else {
        /* several files: one part named "file" each, read from disk as they are sent */
        c.parts = curl_mime_init(r->h);
        for (size_t i = 0; !rc && i < nfiles; i++) {
            curl_mimepart *part = curl_mime_addpart(c.parts);
            curl_mime_name(part, "file");
            if (curl_mime_filedata(part, files[i]) != CURLE_OK)
                rc = tn_fail(err, TN_ENOTFOUND, "cannot open %s", files[i]);
            else
                curl_mime_type(part, content_type);
        }
    }
    if (!rc)
        rc = perform(r, &c, err);
    if (!rc)
        rc = answer_json(&c, out, err);
    if (c.upload)
        fclose(c.upload);
    curl_mime_free(c.parts);
    call_release(&c);
    return rc;
}
