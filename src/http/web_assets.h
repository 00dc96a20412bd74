/* web_assets.h - the browser console's files (web/), compiled into the binary by
 * scripts/embed-web.sh; routes_console.c serves them. */
#ifndef TN_WEB_ASSETS_H
#define TN_WEB_ASSETS_H

#include <stddef.h>

struct tn_web_asset {
    const char *name;         /* file name in web/, e.g. "app.js" */
    const char *content_type; /* the Content-Type it is served with */
    const unsigned char *data;
    size_t len;
};

/* Every file, ended by an entry whose name is NULL. */
extern const struct tn_web_asset tn_web_assets[];

#endif
