/* crosssite.c - what keeps web pages away from a tarn server: the Host check (DNS rebinding),
 * the Origin check on state-changing requests, and the list of origins allowed by CORS.
 *
 * A page on another site can make a browser send requests to a loopback server. Browsers mark
 * such requests: Origin on every POST, PUT, DELETE and CORS request, Sec-Fetch-Site on newer
 * ones, Referer on older ones. A request with none of these (curl, the CLI, Iceberg clients)
 * is not a browser's and passes. A page that rebinds its own name to 127.0.0.1 is same-origin
 * for the browser, but its requests carry its name in Host: only IP literals, localhost, the
 * --host value, this machine's name and the --allowed-host names are accepted there. */
#include "http/http.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

/* Does "value" appear in one of the comma-separated lists "lists[0..n)"? "*" matches all. */
static int list_has(const char *const *lists, int n, const char *value, size_t len)
{
    for (int i = 0; i < n; i++) {
        const char *p = lists[i];
        while (p && *p) {
            const char *comma = strchr(p, ',');
            size_t plen = comma ? (size_t)(comma - p) : strlen(p);
            while (plen && (*p == ' ' || *p == '\t')) {
                p++;
                plen--;
            }
            while (plen && (p[plen - 1] == ' ' || p[plen - 1] == '\t' || p[plen - 1] == '/'))
                plen--; /* "http://a.example/" names the origin "http://a.example" */
            if ((plen == 1 && *p == '*') || (plen == len && strncasecmp(p, value, len) == 0))
                return 1;
            p = comma ? comma + 1 : NULL;
        }
    }
    return 0;
}

/* The name in a Host header: without the port and the brackets of an IPv6 literal. */
static size_t host_name(const char *host, const char **start)
{
    const char *end;

    if (host[0] == '[') {
        end = strchr(host, ']');
        *start = host + 1;
        return end ? (size_t)(end - host - 1) : 0;
    }
    end = strchr(host, ':');
    *start = host;
    return end ? (size_t)(end - host) : strlen(host);
}

int tn_http_host_allowed(const struct tn_http_options *o, const char *machine, const char *host)
{
    char name[256], addr[sizeof(struct in6_addr)];
    const char *s;
    size_t n;

    if (!host)
        return 1; /* HTTP/1.0 without Host: no browser sends that */
    n = host_name(host, &s);
    if (n && s[n - 1] == '.')
        n--; /* "localhost." is "localhost" */
    if (n == 0 || n >= sizeof(name))
        return 0;
    memcpy(name, s, n);
    name[n] = '\0';
    if (inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1)
        return 1; /* a page cannot rebind an address literal */
    if (strcasecmp(name, "localhost") == 0 ||
        (n > 10 && strcasecmp(name + n - 10, ".localhost") == 0))
        return 1;
    if ((o->host && strcasecmp(name, o->host) == 0) || (machine && strcasecmp(name, machine) == 0))
        return 1;
    return list_has(o->allowed_hosts, o->nallowed_hosts, name, n);
}

int tn_http_cors_allowed(const struct tn_http_options *o, const char *origin)
{
    size_t n;

    if (!origin || strcmp(origin, "null") == 0)
        return 0; /* sandboxed frames and file:// pages */
    n = strlen(origin);
    while (n && origin[n - 1] == '/')
        n--;
    return list_has(o->cors_origins, o->ncors_origins, origin, n);
}

/* "http://host:port/..." names the server itself (the page that sent it came from here). */
static int same_origin(const char *url, const char *host)
{
    size_t n;

    if (!host)
        return 0;
    if (strncasecmp(url, "http://", 7) == 0)
        url += 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        url += 8;
    else
        return 0;
    n = strcspn(url, "/?#");
    return n == strlen(host) && strncasecmp(url, host, n) == 0;
}

int tn_http_cross_site(const struct tn_http_options *o, const char *origin, const char *fetch_site,
                       const char *referer, const char *host)
{
    if (origin)
        return !same_origin(origin, host) && !tn_http_cors_allowed(o, origin);
    if (fetch_site)
        return strcasecmp(fetch_site, "same-origin") != 0 && strcasecmp(fetch_site, "none") != 0;
    if (referer)
        return !same_origin(referer, host);
    return 0;
}
