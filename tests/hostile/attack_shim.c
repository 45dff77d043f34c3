/* Loaded with LD_PRELOAD into slowhttptest by tests/hostile/run, which builds it at run time. Two
 * things, neither of which changes what the attacker sends:
 *
 * - Source address. slowhttptest has no option to choose it: every IPv4 socket it connects is first
 *   bound to $BIND_ADDR, on the next free port of [$BIND_PORT_FIRST, $BIND_PORT_LAST] when those
 *   are set (so that the server's side of each connection tells which attack opened it), on any
 *   port otherwise. Traffic stays on loopback and the machine's routing is untouched.
 *
 * - No busy loop. slowhttptest keeps the descriptors of connections it closed in its poll() set;
 *   poll() reports those as POLLNVAL at once, so once one connection is gone it spins, a whole core
 *   per attack. On the machine it shares with the server that spinning is what the normal client
 *   measured: a thread woken onto a CPU that runs it waits for the next scheduler tick (4 ms at
 *   HZ=250; perf sched showed the server's threads waiting 2.6 to 3.9 ms behind slowhttptest). A
 *   poll() that would return only POLLNVAL entries waits instead, up to 10 ms or its own timeout,
 *   for an event on the live descriptors; the attack's own timers keep a 10 ms resolution. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*connect_fn)(int, const struct sockaddr*, socklen_t);

static unsigned next_offset; /* the client is single-threaded; a race would only cost a retry */

static int bind_source(int fd)
{
    const char* address = getenv("BIND_ADDR");
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
    const char* first_text = getenv("BIND_PORT_FIRST");
    const char* last_text = getenv("BIND_PORT_LAST");
    const long first = first_text ? strtol(first_text, NULL, 10) : 0;
    const long last = last_text ? strtol(last_text, NULL, 10) : 0;
    if (first <= 0 || last < first || last > 65535)
        return bind(fd, (const struct sockaddr*)&local, sizeof local);
    const unsigned span = (unsigned)(last - first + 1);
    for (unsigned tries = 0; tries < span; ++tries)
    {
        local.sin_port = htons((unsigned short)(first + (next_offset++ % span)));
        if (bind(fd, (const struct sockaddr*)&local, sizeof local) == 0)
            return 0;
        if (errno != EADDRINUSE)
            return -1;
    }
    errno = EADDRNOTAVAIL;
    return -1;
}

int connect(int fd, const struct sockaddr* address, socklen_t length)
{
    static connect_fn real_connect;
    if (!real_connect)
        real_connect = (connect_fn)dlsym(RTLD_NEXT, "connect");
    if (address && address->sa_family == AF_INET)
    {
        struct sockaddr_in bound;
        socklen_t bound_length = sizeof bound;
        /* A socket the client bound itself keeps its address. */
        if (getsockname(fd, (struct sockaddr*)&bound, &bound_length) == 0 && bound.sin_port == 0 &&
            bind_source(fd) != 0)
            return -1;
    }
    return real_connect(fd, address, length);
}

typedef int (*poll_fn)(struct pollfd*, nfds_t, int);

/* The most a poll() that found only closed descriptors waits for a live one. */
enum
{
    closed_only_wait_ms = 10
};

int poll(struct pollfd* fds, nfds_t count, int timeout_ms)
{
    static poll_fn real_poll;
    if (!real_poll)
        real_poll = (poll_fn)dlsym(RTLD_NEXT, "poll");
    static int keep_busy_loop = -1; /* the negative control: tests/hostile/run --spinning-attacker */
    if (keep_busy_loop < 0)
        keep_busy_loop = getenv("ATTACK_SHIM_KEEP_BUSY_LOOP") != NULL;
    int ready = real_poll(fds, count, timeout_ms);
    if (ready <= 0 || timeout_ms == 0 || keep_busy_loop)
        return ready;
    for (nfds_t i = 0; i < count; ++i)
        if (fds[i].revents != 0 && fds[i].revents != POLLNVAL)
            return ready; /* a real event: the caller has work */

    /* Only closed descriptors: wait on the others (poll skips a negative descriptor), then report
     * the closed ones as the first call did, with whatever the wait found. slowhttptest has one
     * thread, so no descriptor is reopened meanwhile. */
    unsigned char* closed = calloc(count, 1);
    if (!closed)
        return ready;
    for (nfds_t i = 0; i < count; ++i)
        if (fds[i].revents == POLLNVAL)
        {
            closed[i] = 1;
            fds[i].fd = -1 - fds[i].fd;
        }
    const int wait_ms = timeout_ms < 0 || timeout_ms > closed_only_wait_ms ? closed_only_wait_ms : timeout_ms;
    /* A failed wait (EINTR) still leaves the first call's answer, the closed descriptors, to give. */
    real_poll(fds, count, wait_ms);
    int reported = 0;
    for (nfds_t i = 0; i < count; ++i)
    {
        if (closed[i])
        {
            fds[i].fd = -1 - fds[i].fd;
            fds[i].revents = POLLNVAL;
        }
        if (fds[i].revents != 0)
            ++reported;
    }
    free(closed);
    return reported;
}
