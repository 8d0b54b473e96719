/*
 * idle-client: opens N keep-alive connections to 127.0.0.1:PORT, sends one full
 * "GET /plaintext" on each and reads the whole response (so each is an established, idle
 * keep-alive connection afterwards), then holds them until RELEASE_FILE exists or HOLD seconds
 * pass. Built at run time by perf/idle-connections.sh (gcc -O2 into perf/.work/).
 *
 * Usage: idle-client PORT N HOLD_SECONDS RELEASE_FILE
 * stdout: "OPEN <opened> <failed> <errno-text>"   once all are open (or opening stopped)
 *         "CLOSED_BY_SERVER <k>"                     at release: connections the server had closed
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int read_response(int fd)
{
    char buf[4096];
    size_t have = 0;
    long body = -1;
    size_t header_end = 0;
    for (;;) {
        if (have == sizeof buf) return -1;
        ssize_t n = recv(fd, buf + have, sizeof buf - 1 - have, 0);
        if (n <= 0) return -1;
        have += (size_t)n;
        buf[have] = '\0';
        if (!header_end) {
            char *end = strstr(buf, "\r\n\r\n");
            if (!end) continue;
            header_end = (size_t)(end - buf) + 4;
            if (strncmp(buf, "HTTP/1.1 200", 12) != 0) return -1;
            char *cl = strcasestr(buf, "\r\ncontent-length:");
            if (!cl || cl > end) return -1; /* the peers all send Content-Length */
            body = strtol(cl + 17, NULL, 10);
        }
        if (have >= header_end + (size_t)body) return 0;
    }
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s PORT N HOLD_SECONDS RELEASE_FILE\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    int n = atoi(argv[2]);
    int hold = atoi(argv[3]);
    const char *release = argv[4];

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    int *fds = calloc((size_t)n, sizeof *fds);
    if (!fds) return 1;

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    char req[128];
    int reqlen = snprintf(req, sizeof req, "GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", port);
    struct timeval tv = {.tv_sec = 5};

    int opened = 0, failed = 0, err = 0;
    for (int i = 0; i < n; i++) {
        errno = 0;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) { err = errno; failed++; break; }
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
            send(fd, req, (size_t)reqlen, MSG_NOSIGNAL) != reqlen || read_response(fd) != 0) {
            err = errno ? errno : EPROTO;
            failed++;
            close(fd);
            break;
        }
        fds[opened++] = fd;
    }
    printf("OPEN %d %d %s\n", opened, failed, failed ? strerror(err) : "ok");
    fflush(stdout);

    /* Hold, bounded in time; the script creates RELEASE_FILE when it has measured. */
    struct timespec tick = {.tv_nsec = 100 * 1000 * 1000};
    struct stat st;
    for (long waited = 0; waited < (long)hold * 10 && stat(release, &st) != 0; waited++)
        nanosleep(&tick, NULL);

    int closed = 0;
    for (int i = 0; i < opened; i++) {
        char c;
        ssize_t r = recv(fds[i], &c, 1, MSG_DONTWAIT | MSG_PEEK);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) closed++;
    }
    printf("CLOSED_BY_SERVER %d\n", closed);
    fflush(stdout);
    return 0;
}
