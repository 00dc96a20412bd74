/* routes_console.c - the browser console: GET / answers its page and GET /console/{file} its
 * scripts and styles, all compiled into the binary from web/ (scripts/embed-web.sh). The files
 * are static and carry no data, so they are served without a token; everything the console
 * shows comes from the API, with the token the user signs in with. */
#include "http/http.h"
#include "http/web_assets.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

/* Scripts and styles only from this server; no frames, no plugins, no referrer. Inline style
 * attributes are allowed (the grid sets widths with them); inline scripts are not. */
#define CONSOLE_CSP                                                                                \
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src "        \
    "'self'; img-src 'self' data: blob:; frame-ancestors 'none'; base-uri 'none'; form-action "    \
    "'self'"

static const struct tn_web_asset *asset_named(const char *name)
{
    for (const struct tn_web_asset *a = tn_web_assets; a->name; a++)
        if (strcmp(a->name, name) == 0)
            return a;
    return NULL;
}

int tn_route_console(struct tn_http_req *req, struct tn_http_reply *out, struct tn_err *err)
{
    const char *name = req->arg ? req->arg : "index.html";
    const struct tn_web_asset *a = asset_named(name);

    if (!a)
        return tn_fail(err, TN_ENOTFOUND, "the console has no file '%.100s'", name);
    out->status = 200;
    out->response =
        MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
    if (!out->response)
        abort(); /* only fails when out of memory */
    MHD_add_response_header(out->response, MHD_HTTP_HEADER_CONTENT_TYPE, a->content_type);
    MHD_add_response_header(out->response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(out->response, "Content-Security-Policy", CONSOLE_CSP);
    MHD_add_response_header(out->response, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(out->response, "Referrer-Policy", "no-referrer");
    return 0;
}
