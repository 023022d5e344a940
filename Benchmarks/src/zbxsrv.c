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
 *                         Msg's events (field 6) are counted. Latency to Riemann: for each event
 *                         of a zbxload agent (host "bench-agent-..."), the time the frame arrived
 *                         (wall clock) minus the event's time_micros, which the tee takes from the
 *                         value's clock/ns, which zbxload sets to when the upload started.
 *
 * Listens on 127.0.0.1 only. SIGUSR1 prints one JSON line of counters to stdout (the latency
 * percentiles cover the events since the previous line, the counters are totals); SIGTERM/SIGINT
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
#include <time.h>
#include <unistd.h>

#include "check_reply.h"
#include "samples.h"

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

/* Latency to Riemann of the zbxload agents' events since the last stats line, in microseconds
 * (at most 8 Mi samples: 32 MiB). */
static struct samples rlat = {.max = 8u << 20};

static void print_stats(void) {
    struct rusage ru; getrusage(RUSAGE_SELF, &ru);
    double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    printf("{\"accepted\":%llu,\"frames\":%llu,\"events\":%llu,\"bytes_in\":%llu,\"replies\":%llu,\"bad\":%llu,\"cpu_s\":%.3f",
           n_accepted, n_frames, n_events, n_bytes_in, n_replies, n_bad, cpu);
    if (mode == M_RIEMANN) {
        samples_sort(&rlat);
        printf(",\"latency_events\":%zu,\"latency_p50_us\":%.0f,\"latency_p99_us\":%.0f,\"latency_max_us\":%.0f",
               rlat.n, samples_pct(&rlat, 50), samples_pct(&rlat, 99), samples_max(&rlat));
        rlat.n = 0;
    }
    printf("}\n");
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

/* One protobuf field at p[*i]: its number, wire type, and either its varint value or (wire type 2)
 * where its bytes are. 0 when read, -1 when malformed. */
struct pb_field { unsigned number, wire; uint64_t varint; const unsigned char *bytes; size_t len; };
static int pb_next(const unsigned char *p, size_t n, size_t *i, struct pb_field *f) {
    uint64_t key = 0; int sh = 0;
    do { if (*i >= n || sh > 63) return -1; key |= (uint64_t)(p[*i] & 0x7f) << sh; sh += 7; } while (p[(*i)++] & 0x80);
    f->wire = key & 7; f->number = (unsigned)(key >> 3);
    if (f->wire == 0 || f->wire == 2) {
        uint64_t v = 0; sh = 0;
        do { if (*i >= n || sh > 63) return -1; v |= (uint64_t)(p[*i] & 0x7f) << sh; sh += 7; } while (p[(*i)++] & 0x80);
        f->varint = v;
        if (f->wire == 2) {
            if (v > n - *i) return -1;
            f->bytes = p + *i; f->len = (size_t)v; *i += (size_t)v;
        }
    } else if (f->wire == 1 || f->wire == 5) {
        size_t w = f->wire == 1 ? 8 : 4;
        if (w > n - *i) return -1;
        *i += w;
    } else return -1;
    return 0;
}

/* An Event (riemann.proto: host = 4, time_micros = 10): the latency of a zbxload agent's value. */
static void event_latency(const unsigned char *p, size_t n, int64_t arrived_us) {
    static const char agent[] = "bench-agent-";
    size_t i = 0; int ours = 0; int64_t sent_us = -1;
    struct pb_field f;
    while (i < n && pb_next(p, n, &i, &f) == 0) {
        if (f.number == 4 && f.wire == 2) ours = f.len >= sizeof agent - 1 && !memcmp(f.bytes, agent, sizeof agent - 1);
        else if (f.number == 10 && f.wire == 0) sent_us = (int64_t)f.varint;
    }
    if (ours && sent_us > 0) samples_add(&rlat, (double)(arrived_us - sent_us));
}

/* Counts the events (field 6) of a Msg, and takes their latency. */
static int count_events(const unsigned char *p, size_t n, unsigned long long *events) {
    struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts);
    int64_t arrived_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    size_t i = 0;
    struct pb_field f;
    while (i < n) {
        if (pb_next(p, n, &i, &f) < 0) return -1;
        if (f.number == 6 && f.wire == 2) { (*events)++; event_latency(f.bytes, f.len, arrived_us); }
    }
    return 0;
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
