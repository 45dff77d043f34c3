/* Loaded with LD_PRELOAD into a client that has no option to choose its source address
 * (slowhttptest): every IPv4 socket it connects is first bound to $BIND_ADDR, on the next free
 * port of [$BIND_PORT_FIRST, $BIND_PORT_LAST] when those are set (so that the server's side of each
 * connection tells which client opened it), on any port otherwise. Traffic stays on loopback and
 * the machine's routing is untouched. Built at run time by tests/hostile/run. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);

static unsigned next_offset; /* the client is single-threaded; a race would only cost a retry */

static int bind_source(int fd)
{
    const char *address = getenv("BIND_ADDR");
    if (!address || !*address)
        return 0;
    struct sockaddr_in local;
    memset(&local, 0, sizeof local);
    local.sin_family = AF_INET;
    if (inet_pton(AF_INET, address, &local.sin_addr) != 1)
    {
        errno = EINVAL;
        return -1;
    }
    const char *first_text = getenv("BIND_PORT_FIRST");
    const char *last_text = getenv("BIND_PORT_LAST");
    const long first = first_text ? strtol(first_text, NULL, 10) : 0;
    const long last = last_text ? strtol(last_text, NULL, 10) : 0;
    if (first <= 0 || last < first || last > 65535)
        return bind(fd, (const struct sockaddr *)&local, sizeof local);
    const unsigned span = (unsigned)(last - first + 1);
    for (unsigned tries = 0; tries < span; ++tries)
    {
        local.sin_port = htons((unsigned short)(first + (next_offset++ % span)));
        if (bind(fd, (const struct sockaddr *)&local, sizeof local) == 0)
            return 0;
        if (errno != EADDRINUSE)
            return -1;
    }
    errno = EADDRNOTAVAIL;
    return -1;
}

int connect(int fd, const struct sockaddr *address, socklen_t length)
{
    static connect_fn real_connect;
    if (!real_connect)
        real_connect = (connect_fn)dlsym(RTLD_NEXT, "connect");
    if (address && address->sa_family == AF_INET)
    {
        struct sockaddr_in bound;
        socklen_t bound_length = sizeof bound;
        /* A socket the client bound itself keeps its address. */
        if (getsockname(fd, (struct sockaddr *)&bound, &bound_length) == 0 && bound.sin_port == 0 &&
            bind_source(fd) != 0)
            return -1;
    }
    return real_connect(fd, address, length);
}
