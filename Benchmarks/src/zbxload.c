/*
 * zbxload: load generator for the zabbix-tee benchmark (single thread, epoll, non-blocking).
 *
 *   zbxload churn    HOST PORT SECONDS INFLIGHT [MAXCONNS]
 *       Agent pattern: connect, send one Zabbix "agent data" ZBXD frame (~330 B), read the
 *       server's ~100 B reply until the server closes, close; INFLIGHT connections at once,
 *       for SECONDS (and at most MAXCONNS connections). Uploads rotate over ZBXLOAD_AGENTS simulated
 *       agents (default 1000), each with its own session and growing ids.
 *   zbxload check    HOST PORT SECONDS INFLIGHT
 *       The agent pattern as churn, against `zbxsrv check` (through the tee), where connection slot i is
 *       agent i uploading one value after the other like a real agent (never two uploads of one agent in
 *       flight, so a decoder that drops re-sent rows keeps every value); every reply must be
 *       exactly the frame the server builds from the length and CRC-32 of the request it received,
 *       so one comparison proves both directions arrived unchanged. Counts errors (connect, reset,
 *       write), short replies and mismatches; a progress line (JSON) goes to stderr every
 *       ZBXLOAD_PROGRESS seconds (default 10). Runs up to a day (the soak).
 *   zbxload check    HOST PORT SECONDS INFLIGHT
 *       The agent pattern as churn, against `zbxsrv check` (through the tee): every reply must be
 *       exactly the frame the server builds from the length and CRC-32 of the request it received,
 *       so one comparison proves both directions arrived unchanged. Counts errors (connect, reset,
 *       write), short replies and mismatches; a progress line (JSON) goes to stderr every
 *       ZBXLOAD_PROGRESS seconds (default 10). Runs up to a day (the soak); exit 1 on any failure.
 *   zbxload pingpong HOST PORT SECONDS SIZE
 *       One persistent connection: write SIZE bytes, read SIZE bytes back, repeat.
 *   zbxload idle     HOST PORT COUNT HOLD_SECONDS
 *       Opens COUNT connections that send nothing, prints "ready" on stderr when all are open,
 *       holds them for HOLD_SECONDS (or until SIGTERM), then closes them.
 *
 * Prints one JSON line on stdout: counts, rate, latency percentiles (microseconds) and this
 * process's own CPU use (cpu_pct near 100 means the load generator, not the proxy, is the limit).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
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

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
/* Time this process spent runnable but waiting for a CPU (ns, /proc/self/schedstat field 2): the share of
 * the run that other processes on the machine took from the load generator. */
static double rq_wait_self(void) {
    FILE *f = fopen("/proc/self/schedstat", "r");
    unsigned long long run = 0, wait = 0;
    if (f) { if (fscanf(f, "%llu %llu", &run, &wait) != 2) wait = 0; fclose(f); }
    return wait / 1e9;
}
static double cpu_self(void) {
    struct rusage ru; getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* latency samples in microseconds */
static uint32_t *lat; static size_t nlat, caplat;
static void add_lat(double s) {
    if (nlat == caplat) {
        size_t nc = caplat ? caplat * 2 : 1 << 16;
        if (nc > (64u << 20)) return;
        uint32_t *p = realloc(lat, nc * sizeof *p);
        if (!p) return;
        lat = p; caplat = nc;
    }
    double us = s * 1e6;
    lat[nlat++] = us > 4e9 ? 4000000000u : (uint32_t)us;
}
static int cmpu(const void *a, const void *b) { uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b; return x < y ? -1 : x > y; }
static double pct(double p) {
    if (!nlat) return 0;
    size_t i = (size_t)(p / 100.0 * (double)(nlat - 1) + 0.5);
    return lat[i];
}

static struct sockaddr_in dst;
static volatile sig_atomic_t stop;
static void on_sig(int s) { (void)s; stop = 1; }

static void raise_nofile(void) {
    struct rlimit rl; getrlimit(RLIMIT_NOFILE, &rl); rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl);
}

/* ---------------- agent conversations (churn and check) ---------------- */
enum { S_FREE, S_CONNECTING, S_READING };

/* One agent connection: connect, send `req`, read until the server closes. The reply's first
 * sizeof reply bytes are kept (check mode compares them); `got` counts all of it. */
struct conv {
    int fd, state; double t0; long uploads;
    unsigned char req[1024]; size_t req_len;
    unsigned char expect[256]; size_t expect_len;
    unsigned char reply[256]; size_t got;
};
static unsigned long long bytes_out, bytes_in;

/* Starts the connection of slot `tag` (its request is in c->req): 0 when under way, -1 when
 * connect failed at once (the slot is then free). */
static int conv_start(int ep, struct conv *c, uint32_t tag) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    c->t0 = now(); c->got = 0;
    int one = 1; setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int r = connect(c->fd, (struct sockaddr *)&dst, sizeof dst);
    if (r < 0 && errno != EINPROGRESS) { close(c->fd); c->state = S_FREE; return -1; }
    c->state = S_CONNECTING;
    struct epoll_event e = {.events = EPOLLOUT, .data.u32 = tag};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
    return 0;
}

/* Handles an epoll event of slot `tag`: 0 while the conversation goes on, 1 once the server has
 * closed, -1 on an error. The connection is closed and the slot free when it returns non-zero. */
static int conv_event(int ep, struct conv *c, uint32_t tag) {
    int result = 0;
    if (c->state == S_CONNECTING) {
        int err = 0; socklen_t el = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err || write(c->fd, c->req, c->req_len) != (ssize_t)c->req_len) result = -1;
        else {
            bytes_out += c->req_len;
            c->state = S_READING;
            struct epoll_event e = {.events = EPOLLIN, .data.u32 = tag};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
        }
    } else if (c->state == S_READING) {
        unsigned char rbuf[4096];
        for (;;) {
            ssize_t r = read(c->fd, rbuf, sizeof rbuf);
            if (r > 0) {
                if (c->got < sizeof c->reply) {
                    size_t room = sizeof c->reply - c->got;
                    memcpy(c->reply + c->got, rbuf, (size_t)r < room ? (size_t)r : room);
                }
                c->got += (size_t)r; bytes_in += (unsigned long long)r;
                continue;
            }
            if (r == 0) result = 1;
            else if (errno != EAGAIN && errno != EWOULDBLOCK) result = -1;
            break;
        }
    }
    if (result != 0) { close(c->fd); c->state = S_FREE; }
    return result;
}

/* ---------------- churn ---------------- */

static unsigned char frame[1024]; static size_t frame_len;
static long n_agents = 1000;
/* Differs between runs (time and pid), so each run's agents have new sessions, as after an agent restart. */
static unsigned run_id;
/* Upload number seq (from 1) of agent `agent`, the k-th of the run, as a one-value active-agent upload from
 * zabbix_agentd 6.0: each agent has its own session and an id that grows, so a decoder that drops re-sent
 * rows the way the Zabbix server does (same session, id not above the last one) keeps every value, also
 * when several runs go through the same tee. */
static void build_agent_frame(long agent, long seq, long k) {
    time_t now_s = time(NULL);
    char json[900];
    int n = snprintf(json, sizeof json,
        "{\"request\":\"agent data\",\"session\":\"%08x1a3e9c4b2d0f5a8c%08lx\","
        "\"data\":[{\"host\":\"bench-agent-%04ld.example.net\",\"key\":\"system.cpu.load[all,avg1]\","
        "\"value\":\"0.%06ld\",\"id\":%ld,\"clock\":%ld,\"ns\":123456789}],"
        "\"clock\":%ld,\"ns\":223456789,\"host\":\"bench-agent-%04ld.example.net\",\"version\":\"6.0.25\",\"variant\":1}",
        run_id, agent, agent, k % 1000000, seq, (long)now_s, (long)now_s, agent);
    memcpy(frame, "ZBXD\x01", 5);
    frame[5] = n & 0xff; frame[6] = (n >> 8) & 0xff; frame[7] = (n >> 16) & 0xff; frame[8] = (unsigned)n >> 24;
    memset(frame + 9, 0, 4);
    memcpy(frame + 13, json, (size_t)n);
    frame_len = 13 + (size_t)n;
}

/* The k-th upload of the run, from agent k % n_agents (churn: several uploads of one agent may overlap). */
static void build_frame(long k) { build_agent_frame(k % n_agents, k / n_agents + 1, k); }

static int churn(double secs, int inflight, long maxconns) {
    const char *ag = getenv("ZBXLOAD_AGENTS");
    if (ag && atol(ag) > 0) n_agents = atol(ag);
    int ep = epoll_create1(0);
    struct conv *sl = calloc((size_t)inflight, sizeof *sl);
    long started = 0, done = 0, errs = 0, short_replies = 0;
    double t_start = now(), t_end = t_start + secs, t_last = t_start;
    double cpu0 = cpu_self(), rq0 = rq_wait_self();
    int active = 0;

    #define START(i) do { \
        build_frame(started); memcpy(sl[i].req, frame, frame_len); sl[i].req_len = frame_len; \
        if (conv_start(ep, &sl[i], (uint32_t)(i)) == 0) { active++; started++; } else errs++; \
    } while (0)

    for (int i = 0; i < inflight && (maxconns <= 0 || started < maxconns); i++) START(i);
    struct epoll_event evs[512];
    while (active > 0) {
        double t = now();
        if (t > t_end + 5.0 || stop) break;  /* hard bound: stragglers are abandoned */
        int n = epoll_wait(ep, evs, 512, 100);
        for (int k = 0; k < n; k++) {
            int i = (int)evs[k].data.u32;
            int r = conv_event(ep, &sl[i], (uint32_t)i);
            if (r == 0) continue;
            double t1 = now();
            active--;
            if (r > 0 && sl[i].got >= 13) {
                if (t1 <= t_end) { done++; add_lat(t1 - sl[i].t0); t_last = t1; }
            } else if (r > 0) short_replies++;
            else errs++;
            if (t1 < t_end && !stop && (maxconns <= 0 || started < maxconns)) START(i);
        }
    }
    double wall = now() - t_start;
    double window = (t_last > t_end ? t_end : (now() < t_end ? t_last : t_end)) - t_start;
    if (window <= 0) window = wall;
    double cpu = cpu_self() - cpu0, rq = rq_wait_self() - rq0;
    qsort(lat, nlat, sizeof *lat, cmpu);
    printf("{\"mode\":\"churn\",\"inflight\":%d,\"seconds\":%.3f,\"conns\":%ld,\"conns_per_s\":%.1f,"
           "\"p50_us\":%.0f,\"p90_us\":%.0f,\"p99_us\":%.0f,\"max_us\":%.0f,\"errors\":%ld,\"short_replies\":%ld,"
           "\"abandoned\":%d,\"agents\":%ld,\"frame_bytes\":%zu,\"bytes_out\":%llu,\"bytes_in\":%llu,\"loadgen_cpu_pct\":%.1f,"
           "\"loadgen_rq_wait_pct\":%.1f}\n",
           inflight, window, done, done / window, pct(50), pct(90), pct(99), nlat ? (double)lat[nlat - 1] : 0.0,
           errs, short_replies, active, n_agents, frame_len, bytes_out, bytes_in, 100.0 * cpu / wall, 100.0 * rq / wall);
    return 0;
}

/* ---------------- check ---------------- */

static int check(double secs, int inflight) {
    const char *ag = getenv("ZBXLOAD_AGENTS");
    if (ag && atol(ag) > 0) n_agents = atol(ag);
    const char *pg = getenv("ZBXLOAD_PROGRESS");
    double every = pg && atof(pg) > 0 ? atof(pg) : 10.0;
    int ep = epoll_create1(0);
    struct conv *sl = calloc((size_t)inflight, sizeof *sl);
    long started = 0, done = 0, errs = 0, short_replies = 0, mismatches = 0;
    double t_start = now(), t_end = t_start + secs, t_next = t_start + every;
    double cpu0 = cpu_self();
    int active = 0, peak = 0;

    #define CSTART(i) do { \
        struct conv *c_ = &sl[i]; \
        build_agent_frame(i, ++c_->uploads, started); \
        memcpy(c_->req, frame, frame_len); c_->req_len = frame_len; \
        c_->expect_len = check_reply(c_->expect, frame_len, crc32_bytes(frame, frame_len)); \
        if (conv_start(ep, c_, (uint32_t)(i)) == 0) { active++; started++; if (active > peak) peak = active; } \
        else errs++; \
    } while (0)

    for (int i = 0; i < inflight; i++) CSTART(i);
    struct epoll_event evs[512];
    while (active > 0) {
        double t = now();
        if (t > t_end + 10.0 || stop) break;  /* hard bound: stragglers are counted as abandoned */
        if (t >= t_next) {
            fprintf(stderr, "{\"t\":%.1f,\"conns\":%ld,\"errors\":%ld,\"short_replies\":%ld,\"mismatches\":%ld,\"in_flight\":%d}\n",
                    t - t_start, done, errs, short_replies, mismatches, active);
            t_next += every;
        }
        int n = epoll_wait(ep, evs, 512, 100);
        for (int k = 0; k < n; k++) {
            int i = (int)evs[k].data.u32;
            struct conv *c = &sl[i];
            int r = conv_event(ep, c, (uint32_t)i);
            if (r == 0) continue;
            double t1 = now();
            active--;
            if (r < 0) errs++;
            else if (c->got < c->expect_len) short_replies++;
            else if (c->got != c->expect_len || memcmp(c->reply, c->expect, c->expect_len) != 0) mismatches++;
            else { done++; add_lat(t1 - c->t0); }
            if (t1 < t_end && !stop) CSTART(i);
        }
    }
    double wall = now() - t_start, cpu = cpu_self() - cpu0;
    qsort(lat, nlat, sizeof *lat, cmpu);
    printf("{\"mode\":\"check\",\"inflight\":%d,\"peak_inflight\":%d,\"seconds\":%.3f,\"started\":%ld,\"conns\":%ld,"
           "\"conns_per_s\":%.1f,\"errors\":%ld,\"short_replies\":%ld,\"mismatches\":%ld,\"abandoned\":%d,"
           "\"bytes_out\":%llu,\"bytes_in\":%llu,\"frame_bytes\":%zu,\"p50_us\":%.0f,\"p99_us\":%.0f,\"max_us\":%.0f,"
           "\"loadgen_cpu_pct\":%.1f}\n",
           inflight, peak, wall, started, done, done / (secs < wall ? secs : wall), errs, short_replies, mismatches, active,
           bytes_out, bytes_in, frame_len, pct(50), pct(99), nlat ? (double)lat[nlat - 1] : 0.0, 100.0 * cpu / wall);
    fflush(stdout);
    return (errs || short_replies || mismatches || active) ? 1 : 0;
}

/* ---------------- pingpong ---------------- */
static int pingpong(double secs, size_t size) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = {.tv_sec = 5}; setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0) { perror("connect"); return 1; }
    unsigned char *buf = malloc(size), *rb = malloc(size);
    memset(buf, 'x', size);
    double t_start = now(), t_end = t_start + secs, cpu0 = cpu_self(), rq0 = rq_wait_self();
    long n = 0, errs = 0;
    while (!stop) {
        double t0 = now();
        if (t0 >= t_end) break;
        if (write(fd, buf, size) != (ssize_t)size) { errs++; break; }
        size_t got = 0;
        while (got < size) {
            ssize_t r = read(fd, rb + got, size - got);
            if (r <= 0) { errs++; goto out; }
            got += (size_t)r;
        }
        add_lat(now() - t0); n++;
    }
out:;
    double wall = now() - t_start, cpu = cpu_self() - cpu0, rq = rq_wait_self() - rq0;
    close(fd);
    qsort(lat, nlat, sizeof *lat, cmpu);
    printf("{\"mode\":\"pingpong\",\"size\":%zu,\"seconds\":%.3f,\"transactions\":%ld,\"tps\":%.1f,"
           "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.0f,\"errors\":%ld,\"loadgen_cpu_pct\":%.1f,\"loadgen_rq_wait_pct\":%.1f}\n",
           size, wall, n, n / wall, pct(50), pct(90), pct(99), nlat ? (double)lat[nlat - 1] : 0.0, errs, 100.0 * cpu / wall,
           100.0 * rq / wall);
    return errs ? 1 : 0;
}

/* ---------------- idle ---------------- */
static int idle(long count, double hold) {
    int *fds = calloc((size_t)count, sizeof *fds);
    long open_ = 0, errs = 0;
    double t0 = now();
    for (long i = 0; i < count && !stop; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(fds[i], (struct sockaddr *)&dst, sizeof dst) < 0) { close(fds[i]); fds[i] = -1; errs++; continue; }
        open_++;
    }
    double t_conn = now() - t0;
    fprintf(stderr, "ready %ld\n", open_);
    double t_end = now() + hold;
    while (!stop && now() < t_end) usleep(20000);
    for (long i = 0; i < count; i++) if (fds[i] >= 0) close(fds[i]);
    printf("{\"mode\":\"idle\",\"open\":%ld,\"errors\":%ld,\"connect_seconds\":%.3f}\n", open_, errs, t_conn);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: zbxload churn HOST PORT SECONDS INFLIGHT [MAXCONNS]\n"
                        "       zbxload check HOST PORT SECONDS INFLIGHT\n"
                        "       zbxload pingpong HOST PORT SECONDS SIZE\n"
                        "       zbxload idle HOST PORT COUNT HOLD_SECONDS\n");
        return 2;
    }
    raise_nofile();
    run_id = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_sig}; sigaction(SIGTERM, &sa, NULL); sigaction(SIGINT, &sa, NULL);
    dst.sin_family = AF_INET; dst.sin_port = htons((uint16_t)atoi(argv[3]));
    if (inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1 || (ntohl(dst.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "zbxload only targets loopback (127.0.0.0/8)\n"); return 2;
    }
    if (!strcmp(argv[1], "churn")) {
        double s = atof(argv[4]); if (s > 600) s = 600;
        return churn(s, atoi(argv[5]), argc > 6 ? atol(argv[6]) : 0);
    }
    if (!strcmp(argv[1], "check")) { double s = atof(argv[4]); if (s > 86400) s = 86400; return check(s, atoi(argv[5])); }
    if (!strcmp(argv[1], "pingpong")) { double s = atof(argv[4]); if (s > 600) s = 600; return pingpong(s, (size_t)atol(argv[5])); }
    if (!strcmp(argv[1], "idle")) { double h = atof(argv[5]); if (h > 600) h = 600; return idle(atol(argv[4]), h); }
    fprintf(stderr, "unknown mode %s\n", argv[1]);
    return 2;
}
