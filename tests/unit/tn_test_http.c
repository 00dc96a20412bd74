/* tn_test_http.c - the loopback sockets of the unit tests' scripted HTTP servers (tn_test_http.h).
 */
#include "tn_test_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int tn_test_http_listen(int *port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 8) ||
        getsockname(fd, (struct sockaddr *)&a, &len)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

int tn_test_http_accept(int fd, char *req, size_t cap)
{
    size_t got = 0;
    int c = accept(fd, NULL, NULL);

    if (c < 0)
        return -1;
    req[0] = '\0';
    while (got + 1 < cap) {
        ssize_t r = recv(c, req + got, cap - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
        req[got] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    return c;
}

void tn_test_http_poke(int port)
{
    struct sockaddr_in a;
    int c = socket(AF_INET, SOCK_STREAM, 0);

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c, (struct sockaddr *)&a, sizeof(a)) == 0)
        send(c, "\r\n\r\n", 4, MSG_NOSIGNAL);
    close(c);
}
