/*
 * zbxsrv: single-threaded epoll targets for the zabbix-tee benchmark.
 *
 *   zbxsrv zabbix  PORT   Zabbix-server stand-in: reads one ZBXD frame, answers the usual
 *                         "processed: 1" ZBXD frame and closes first (as the Zabbix server does).
 *                         Connections that send nothing stay open (idle-RSS scenario).
 *   zbxsrv check   PORT   as zabbix, but the reply also carries the length and CRC-32 of the whole
 *                         request frame as received ("check":"LEN:CRC"), so `zbxload check` can
 *                         verify both directions byte for byte (the load and soak tests).
 *   zbxsrv echo    PORT   echoes every byte back (request/response scenario).
 *   zbxsrv riemann PORT   Riemann sink: frames are a 4-byte big-endian length + protobuf Msg;
 *                         every frame is answered with 00 00 00 02 10 01 (Msg{ok:true}) and the
 *                         Msg's events (field 6) are counted.
 *
 * Listens on 127.0.0.1 only. SIGUSR1 prints one JSON line of counters to stdout; SIGTERM/SIGINT
 * print it and exit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check_reply.h"

enum mode { M_ZABBIX, M_CHECK, M_ECHO, M_RIEMANN };
struct conn { unsigned char *buf; size_t len, cap; unsigned char *out; size_t outlen, outoff; };

static enum mode mode;
static struct conn *conns;
static int nconns_max;
static volatile sig_atomic_t want_stats, want_exit;
static unsigned long long n_accepted, n_frames, n_events, n_bytes_in, n_replies, n_bad;
static int epfd;

static const char zreply_json[] =
    "{\"response\":\"success\",\"info\":\"processed: 1; failed: 0; total: 1; seconds spent: 0.000050\"}";
static unsigned char zreply[256];
static size_t zreply_len;
static const unsigned char rack[6] = {0, 0, 0, 2, 0x10, 0x01};


static void on_sig(int s) { if (s == SIGUSR1) want_stats = 1; else want_exit = 1; }

static void print_stats(void) {
    struct rusage ru; getrusage(RUSAGE_SELF, &ru);
    double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    printf("{\"accepted\":%llu,\"frames\":%llu,\"events\":%llu,\"bytes_in\":%llu,\"replies\":%llu,\"bad\":%llu,\"cpu_s\":%.3f}\n",
           n_accepted, n_frames, n_events, n_bytes_in, n_replies, n_bad, cpu);
    fflush(stdout);
}

static void drop(int fd) {
    struct conn *c = &conns[fd];
    free(c->buf); free(c->out);
    memset(c, 0, sizeof *c);
    close(fd);
}

/* Queue bytes for fd; write what the socket takes now, keep the rest for EPOLLOUT. */
static int send_bytes(int fd, const unsigned char *p, size_t n) {
    struct conn *c = &conns[fd];
    if (c->outlen == c->outoff) {
        c->outlen = c->outoff = 0;
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return -1;
        if (w < 0) w = 0;
        p += w; n -= (size_t)w;
        if (n == 0) return 0;
    }
    unsigned char *o = realloc(c->out, c->outlen + n);
    if (!o) return -1;
    c->out = o; memcpy(c->out + c->outlen, p, n); c->outlen += n;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.fd = fd};
    epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
    return 0;
}

static int flush_out(int fd) {
    struct conn *c = &conns[fd];
    while (c->outoff < c->outlen) {
        ssize_t w = write(fd, c->out + c->outoff, c->outlen - c->outoff);
        if (w < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
        c->outoff += (size_t)w;
    }
    c->outlen = c->outoff = 0;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
    return 0;
}

/* Count top-level field 6 (repeated Event events) of a protobuf Msg. */
static int count_events(const unsigned char *p, size_t n, unsigned long long *events) {
    size_t i = 0;
    while (i < n) {
        uint64_t key = 0; int sh = 0;
        do { if (i >= n || sh > 63) return -1; key |= (uint64_t)(p[i] & 0x7f) << sh; sh += 7; } while (p[i++] & 0x80);
        unsigned wt = key & 7, field = (unsigned)(key >> 3);
        if (wt == 0) { do { if (i >= n) return -1; } while (p[i++] & 0x80); }
        else if (wt == 1) i += 8;
        else if (wt == 5) i += 4;
        else if (wt == 2) {
            uint64_t l = 0; sh = 0;
            do { if (i >= n || sh > 63) return -1; l |= (uint64_t)(p[i] & 0x7f) << sh; sh += 7; } while (p[i++] & 0x80);
            if (l > n - i) return -1;
            i += l;
            if (field == 6) (*events)++;
        } else return -1;
    }
    return i == n ? 0 : -1;
}

/* Returns -1 to close the connection. */
static int on_data(int fd) {
    struct conn *c = &conns[fd];
    for (;;) {
        if (c->cap - c->len < 65536) {
            size_t nc = c->cap ? c->cap * 2 : 65536 + 4096;
            if (nc > (64u << 20)) return -1;
            unsigned char *b = realloc(c->buf, nc);
            if (!b) return -1;
            c->buf = b; c->cap = nc;
        }
        ssize_t r = read(fd, c->buf + c->len, c->cap - c->len);
        if (r == 0) return -1;
        if (r < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
        n_bytes_in += (unsigned long long)r;
        if (mode == M_ECHO) {
            if (send_bytes(fd, c->buf, (size_t)r) < 0) return -1;
            continue;
        }
        c->len += (size_t)r;
        if (mode == M_ZABBIX || mode == M_CHECK) {
            if (c->len < 13) continue;
            if (memcmp(c->buf, "ZBXD", 4) != 0) { n_bad++; return -1; }
            unsigned flags = c->buf[4];
            size_t hdr = (flags & 4) ? 21 : 13, plen;
            if (c->len < hdr) continue;
            plen = (size_t)c->buf[5] | (size_t)c->buf[6] << 8 | (size_t)c->buf[7] << 16 | (size_t)c->buf[8] << 24;
            if (c->len < hdr + plen) continue;
            n_frames++;
            if (mode == M_CHECK) {
                unsigned char reply[256];
                size_t rl = check_reply(reply, c->len, crc32_bytes(c->buf, c->len));
                if (send_bytes(fd, reply, rl) < 0) return -1;
            } else if (send_bytes(fd, zreply, zreply_len) < 0) return -1;
            n_replies++;
            if (c->outlen == 0) return -1;   /* reply written: the server closes first */
            c->len = 0;                      /* rare: reply still queued; closed after EPOLLOUT */
            return 0;
        }
        /* riemann */
        size_t off = 0;
        while (c->len - off >= 4) {
            size_t fl = (size_t)c->buf[off] << 24 | (size_t)c->buf[off + 1] << 16 | (size_t)c->buf[off + 2] << 8 | c->buf[off + 3];
            if (fl > (32u << 20)) { n_bad++; return -1; }
            if (c->len - off - 4 < fl) break;
            if (count_events(c->buf + off + 4, fl, &n_events) < 0) n_bad++;
            n_frames++;
            if (send_bytes(fd, rack, sizeof rack) < 0) return -1;
            n_replies++;
            off += 4 + fl;
        }
        memmove(c->buf, c->buf + off, c->len - off);
        c->len -= off;
    }
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: zbxsrv zabbix|check|echo|riemann PORT\n"); return 2; }
    if (!strcmp(argv[1], "zabbix")) mode = M_ZABBIX;
    else if (!strcmp(argv[1], "check")) mode = M_CHECK;
    else if (!strcmp(argv[1], "echo")) mode = M_ECHO;
    else if (!strcmp(argv[1], "riemann")) mode = M_RIEMANN;
    else { fprintf(stderr, "unknown mode %s\n", argv[1]); return 2; }
    int port = atoi(argv[2]);

    struct rlimit rl; getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl);
    nconns_max = (int)(rl.rlim_cur > 1048576 ? 1048576 : rl.rlim_cur);
    conns = calloc((size_t)nconns_max, sizeof *conns);

    uint32_t pl = sizeof zreply_json - 1;
    memcpy(zreply, "ZBXD\x01", 5);
    zreply[5] = pl & 0xff; zreply[6] = (pl >> 8) & 0xff; zreply[7] = (pl >> 16) & 0xff; zreply[8] = pl >> 24;
    memset(zreply + 9, 0, 4);
    memcpy(zreply + 13, zreply_json, pl);
    zreply_len = 13 + pl;

    struct sigaction sa = {.sa_handler = on_sig};
    sigaction(SIGUSR1, &sa, NULL); sigaction(SIGTERM, &sa, NULL); sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(0x7f000001)};
    if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 4096) < 0) { perror("bind/listen"); return 1; }
    epfd = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
    epoll_ctl(epfd, EPOLL_CTL_ADD, ls, &ev);
    fprintf(stderr, "zbxsrv %s listening on 127.0.0.1:%d\n", argv[1], port);

    struct epoll_event evs[256];
    while (!want_exit) {
        if (want_stats) { want_stats = 0; print_stats(); }
        int n = epoll_wait(epfd, evs, 256, 200);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == ls) {
                for (;;) {
                    int cfd = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
                    if (cfd < 0) break;
                    if (cfd >= nconns_max) { close(cfd); continue; }
                    n_accepted++;
                    setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event ce = {.events = EPOLLIN, .data.fd = cfd};
                    epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &ce);
                }
                continue;
            }
            int bad = 0;
            if (evs[i].events & EPOLLOUT) {
                if (flush_out(fd) < 0) bad = 1;
                else if ((mode == M_ZABBIX || mode == M_CHECK) && conns[fd].outlen == 0) bad = 1; /* reply done: close */
            }
            if (!bad && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) bad = on_data(fd) < 0;
            if (bad) drop(fd);
        }
    }
    print_stats();
    return 0;
}
