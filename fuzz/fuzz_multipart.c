/* fuzz_multipart.c - libFuzzer target for upload bodies (src/http/server.c): multipart/form-data
 * decoded by libmicrohttpd's post processor into tarn's part handler, which streams the part
 * named "file" to a temporary file and keeps the other fields. The input's first line is the
 * request's Content-Type, the rest its body. The request goes through a libmicrohttpd daemon
 * with no listening socket, over a socket pair, in this thread (so leak checks see everything);
 * the handler runs tn__http_upload_*, the code a server runs for an upload. Nothing may crash,
 * leak or read out of bounds. Seeds in corpus/multipart/ (see corpus/README). Run with
 * `make fuzz-run FUZZ_TARGETS=multipart`. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/http.h"

#define UPLOAD_MAX (1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char tmp_dir[64];

struct request {
    struct tn__http_upload *u;
    struct tn_err err;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct request *r = *con_cls;
    struct MHD_Response *resp;
    enum MHD_Result ret;
    json_t *form = NULL;
    int rc = 1;
    (void)cls;
    (void)url;
    (void)method;
    (void)version;

    if (!r) {
        r = tn_calloc(1, sizeof(*r));
        r->u = tn__http_upload_begin(conn, tmp_dir, UPLOAD_MAX, &r->err);
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (r->u)
            tn__http_upload_feed(r->u, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->u) {
        rc = tn__http_upload_end(r->u, &form, &r->err);
        r->u = NULL;
        json_decref(form);
    }
    resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    ret = MHD_queue_response(conn, rc ? 400 : 200, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct request *r = *con_cls;
    (void)cls;
    (void)conn;
    (void)toe;

    if (!r)
        return;
    if (r->u)
        tn__http_upload_end(r->u, NULL, &r->err);
    free(r);
    *con_cls = NULL;
}

static void remove_tmp_dir(void)
{
    rmdir(tmp_dir);
}

static struct MHD_Daemon *daemon_get(void)
{
    static struct MHD_Daemon *d;

    if (d)
        return d;
    snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/tarn-fuzz-multipart-XXXXXX");
    if (!mkdtemp(tmp_dir))
        abort();
    atexit(remove_tmp_dir);
    d = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET, 0, NULL, NULL, on_request, NULL,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    if (!d)
        abort();
    return d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct MHD_Daemon *d = daemon_get();
    const char *nl = memchr(data, '\n', size);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(40000)};
    struct tn_buf req = TN_BUF_INIT(0);
    size_t ctlen, off = 0;
    int sv[2];

    if (!nl)
        return 0;
    ctlen = (size_t)(nl - (const char *)data);
    for (size_t i = 0; i < ctlen; i++)
        if (data[i] < 0x20 || data[i] == 0x7f)
            return 0; /* not a header value a client can send */
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        abort();
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (MHD_add_connection(d, sv[1], (struct sockaddr *)&sa, sizeof(sa)) != MHD_YES)
        abort();
    tn_buf_addf(&req, NULL,
                "POST /ingest/t HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n"
                "Content-Type: %.*s\r\nContent-Length: %zu\r\n\r\n",
                (int)ctlen, (const char *)data, size - ctlen - 1);
    tn_buf_add(&req, nl + 1, size - ctlen - 1, NULL);
    /* send, let the daemon work, until it answers and closes (bounded) */
    for (int round = 0; round < 20000; round++) {
        char buf[4096];
        if (off < req.len) {
            ssize_t w = write(sv[0], req.buf + off, req.len - off);
            if (w > 0)
                off += (size_t)w;
        }
        MHD_run(d);
        if (read(sv[0], buf, sizeof(buf)) == 0)
            break;
    }
    close(sv[0]);
    MHD_run(d);
    tn_buf_release(&req);
    return 0;
}
