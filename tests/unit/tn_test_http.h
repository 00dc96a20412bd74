/* tn_test_http.h - what the unit tests that script an HTTP server on a loopback socket share (the
 * S3 client's tests): the listening socket, the head of the next request, and the connection that
 * lets a server thread finish its script. */
#ifndef TN_TEST_HTTP_H
#define TN_TEST_HTTP_H

#include <stddef.h>

/* A socket listening on a free loopback port, that port in *port; -1 when it cannot be made. */
int tn_test_http_listen(int *port);
/* Accept the next connection on the listening socket "fd" and read its request head (up to the
 * blank line; at most cap - 1 bytes, NUL-terminated) into "req": the connection, or -1. */
int tn_test_http_accept(int fd, char *req, size_t cap);
/* Connect to loopback "port" and send a blank line: a request for a server thread that still
 * waits for one, so that it can end. */
void tn_test_http_poke(int port);

#endif /* TN_TEST_HTTP_H */
