/*
 * zbxload: load generator for the zabbix-tee benchmark (single thread, epoll, non-blocking).
 *
 *   zbxload churn    HOST PORT SECONDS INFLIGHT [MAXCONNS] [--rate R]
 *       Agent pattern: connect, send one Zabbix "agent data" ZBXD frame (~330 B), read the
 *       server's ~100 B reply until the server closes, close. Uploads rotate over ZBXLOAD_AGENTS
 *       simulated agents (default 1000), each with its own session and growing ids.
 *       Closed loop (default): INFLIGHT connections at once for SECONDS (at most MAXCONNS): a new
 *       one starts when one ends, so the rate is whatever the proxy (or this process) manages.
 *       Open loop (--rate R): connection k is due at start + k/R, whether or not earlier ones have
 *       finished, as an agent fleet does not wait for the proxy; INFLIGHT bounds the connections
 *       open at once. Latency counts from when a connection was due, so a proxy that falls behind
 *       shows it in the percentiles; "kept_up" says whether the offered rate was achieved.
 *   zbxload check    HOST PORT SECONDS INFLIGHT
 *       The agent pattern as churn, against `zbxsrv check` (through the tee), where connection slot i is
 *       agent i uploading one value after the other like a real agent (never two uploads of one agent in
 *       flight, so a decoder that drops re-sent rows keeps every value); every reply must be
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
 * Every item value carries the wall-clock time (CLOCK_REALTIME) its upload started as its
 * `clock`/`ns`, which the tee turns into the Riemann event's time_micros: `zbxsrv riemann` subtracts
 * it from the time the event arrives (latency to Riemann, same machine, same clock).
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
#include "samples.h"

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

/* this run's latencies (microseconds; at most 64 Mi samples) */
static struct samples lat = {.max = 64u << 20};
static void add_lat(double seconds) { samples_add(&lat, seconds * 1e6); }

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
    /* The value's clock/ns is when this upload starts (wall clock): the tee makes it the event's
     * time_micros, and the Riemann sink measures the latency to Riemann from it. */
    struct timespec sent; clock_gettime(CLOCK_REALTIME, &sent);
    char json[900];
    int n = snprintf(json, sizeof json,
        "{\"request\":\"agent data\",\"session\":\"%08x1a3e9c4b2d0f5a8c%08lx\","
        "\"data\":[{\"host\":\"bench-agent-%04ld.example.net\",\"key\":\"system.cpu.load[all,avg1]\","
        "\"value\":\"0.%06ld\",\"id\":%ld,\"clock\":%ld,\"ns\":%ld}],"
        "\"clock\":%ld,\"ns\":%ld,\"host\":\"bench-agent-%04ld.example.net\",\"version\":\"6.0.25\",\"variant\":1}",
        run_id, agent, agent, k % 1000000, seq, (long)sent.tv_sec, sent.tv_nsec, (long)sent.tv_sec, sent.tv_nsec, agent);
    memcpy(frame, "ZBXD\x01", 5);
    frame[5] = n & 0xff; frame[6] = (n >> 8) & 0xff; frame[7] = (n >> 16) & 0xff; frame[8] = (unsigned)n >> 24;
    memset(frame + 9, 0, 4);
    memcpy(frame + 13, json, (size_t)n);
    frame_len = 13 + (size_t)n;
}

/* The k-th upload of the run, from agent k % n_agents (churn: several uploads of one agent may overlap). */
static void build_frame(long k) { build_agent_frame(k % n_agents, k / n_agents + 1, k); }

/* Puts the k-th upload of the run into conversation c's request. */
static void churn_request(struct conv *c, long k) {
    build_frame(k); memcpy(c->req, frame, frame_len); c->req_len = frame_len;
}

static void read_agents_env(void) {
    const char *ag = getenv("ZBXLOAD_AGENTS");
    if (ag && atol(ag) > 0) n_agents = atol(ag);
}

/* Outcome of one finished conversation, as churn counts it: `done` (and a latency sample) for every
 * complete exchange, or (closed loop) only for those that ended within the measured window;
 * `in_window` for those that did. */
struct churn_counts { long done, in_window, errs, short_replies; };
static void churn_count(struct churn_counts *k, const struct conv *c, int r, double t1, double t_end, int whole_run) {
    if (r > 0 && c->got >= 13) {
        if (t1 <= t_end) k->in_window++;
        if (t1 <= t_end || whole_run) { k->done++; add_lat(t1 - c->t0); }
    } else if (r > 0) k->short_replies++;
    else k->errs++;
}

/* Closed loop: INFLIGHT conversations at once, a new one as soon as one ends. */
static int churn(double secs, int inflight, long maxconns) {
    read_agents_env();
    int ep = epoll_create1(0);
    struct conv *sl = calloc((size_t)inflight, sizeof *sl);
    struct churn_counts k = {0};
    long started = 0;
    double t_start = now(), t_end = t_start + secs, t_last = t_start;
    double cpu0 = cpu_self(), rq0 = rq_wait_self();
    int active = 0;

    #define START(i) do { \
        churn_request(&sl[i], started); \
        if (conv_start(ep, &sl[i], (uint32_t)(i)) == 0) { active++; started++; } else k.errs++; \
    } while (0)

    for (int i = 0; i < inflight && (maxconns <= 0 || started < maxconns); i++) START(i);
    struct epoll_event evs[512];
    while (active > 0) {
        double t = now();
        if (t > t_end + 5.0 || stop) break;  /* hard bound: stragglers are abandoned */
        int n = epoll_wait(ep, evs, 512, 100);
        for (int e = 0; e < n; e++) {
            int i = (int)evs[e].data.u32;
            int r = conv_event(ep, &sl[i], (uint32_t)i);
            if (r == 0) continue;
            double t1 = now();
            active--;
            long before = k.done;
            churn_count(&k, &sl[i], r, t1, t_end, 0);
            if (k.done > before) t_last = t1;
            if (t1 < t_end && !stop && (maxconns <= 0 || started < maxconns)) START(i);
        }
    }
    #undef START
    double wall = now() - t_start;
    double window = (t_last > t_end ? t_end : (now() < t_end ? t_last : t_end)) - t_start;
    if (window <= 0) window = wall;
    double cpu = cpu_self() - cpu0, rq = rq_wait_self() - rq0;
    samples_sort(&lat);
    printf("{\"mode\":\"churn\",\"inflight\":%d,\"seconds\":%.3f,\"conns\":%ld,\"conns_per_s\":%.1f,"
           "\"p50_us\":%.0f,\"p90_us\":%.0f,\"p99_us\":%.0f,\"max_us\":%.0f,\"errors\":%ld,\"short_replies\":%ld,"
           "\"abandoned\":%d,\"agents\":%ld,\"frame_bytes\":%zu,\"bytes_out\":%llu,\"bytes_in\":%llu,\"loadgen_cpu_pct\":%.1f,"
           "\"loadgen_rq_wait_pct\":%.1f}\n",
           inflight, window, k.done, k.done / window, samples_pct(&lat, 50), samples_pct(&lat, 90), samples_pct(&lat, 99), samples_max(&lat),
           k.errs, k.short_replies, active, n_agents, frame_len, bytes_out, bytes_in, 100.0 * cpu / wall, 100.0 * rq / wall);
    return 0;
}

/* epoll_wait with a sub-millisecond timeout (epoll_pwait2, Linux 5.11), so an open-loop schedule of
 * thousands of connections per second is kept without bursts; whole milliseconds where the kernel
 * lacks it. */
static int wait_events(int ep, struct epoll_event *evs, int max, double seconds) {
    static int no_pwait2;
    if (seconds < 0) seconds = 0;
    if (!no_pwait2) {
        struct timespec ts = {.tv_sec = (time_t)seconds, .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9)};
        int n = epoll_pwait2(ep, evs, max, &ts, NULL);
        if (n >= 0 || errno != ENOSYS) return n;
        no_pwait2 = 1;
    }
    return epoll_wait(ep, evs, max, (int)(seconds * 1000.0 + 0.999));
}

/* Open loop: connection k is due at t_start + k/rate. At most MAXOPEN conversations are open; a due
 * connection that finds none free waits (and its latency, counted from when it was due, grows).
 * None starts after the window: what was still due then is "not_started". Every connection started
 * is followed to its end (conns, latency: the proxy's CPU over the run divides by all of them), and
 * the achieved rate counts those that ended within the window. */
static int churn_open(double secs, int maxopen, long maxconns, double rate) {
    read_agents_env();
    int ep = epoll_create1(0);
    struct conv *sl = calloc((size_t)maxopen, sizeof *sl);
    int *free_slots = malloc((size_t)maxopen * sizeof *free_slots), nfree = 0;
    for (int i = maxopen - 1; i >= 0; i--) free_slots[nfree++] = i;
    struct churn_counts k = {0};
    long due_total = (long)(secs * rate + 0.5), started = 0, late = 0, slot_waits = 0, blocked = -1;
    if (maxconns > 0 && due_total > maxconns) due_total = maxconns;
    double t_start = now(), t_end = t_start + secs, max_lag = 0;
    double cpu0 = cpu_self(), rq0 = rq_wait_self();
    int active = 0, peak = 0;
    struct epoll_event evs[512];
    for (;;) {
        double t = now();
        if (t > t_end + 5.0 || stop) break;  /* hard bound: stragglers are abandoned */
        /* Start every connection that is due, as far as slots allow. */
        while (started < due_total && nfree > 0 && t < t_end && t_start + (double)started / rate <= t) {
            double t_due = t_start + (double)started / rate;
            int i = free_slots[--nfree];
            churn_request(&sl[i], started);
            started++;
            if (conv_start(ep, &sl[i], (uint32_t)i) != 0) { k.errs++; free_slots[nfree++] = i; continue; }
            sl[i].t0 = t_due;
            if (t - t_due > max_lag) max_lag = t - t_due;
            if (t - t_due > 0.001) late++;
            if (++active > peak) peak = active;
        }
        /* The next one is due and every slot is busy: the proxy has fallen behind (counted once each). */
        if (started < due_total && t < t_end && nfree == 0 && t_start + (double)started / rate <= t && started > blocked) {
            slot_waits++; blocked = started;
        }
        int starting = started < due_total && t < t_end;
        if (!starting && active == 0) break;
        /* Sleep until the next one is due, or (all slots busy, or none left to start) until an event. */
        double wait = 0.1;
        if (starting && nfree > 0) wait = t_start + (double)started / rate - now();
        int n = wait_events(ep, evs, 512, wait);
        for (int e = 0; e < n; e++) {
            int i = (int)evs[e].data.u32;
            int r = conv_event(ep, &sl[i], (uint32_t)i);
            if (r == 0) continue;
            active--;
            free_slots[nfree++] = i;
            churn_count(&k, &sl[i], r, now(), t_end, 1);
        }
    }
    double wall = now() - t_start, cpu = cpu_self() - cpu0, rq = rq_wait_self() - rq0;
    samples_sort(&lat);
    /* Kept up (the proxy): 97 % of the offered connections completed within the window (those still
     * in flight at its end are the rest), none waited for a slot, no error. Starts more than 1 ms
     * late (late_starts) are this process's own lateness too (it was not given a CPU in time): the
     * rate was then not really offered, which the harness reports apart. */
    int kept_up = k.in_window >= 0.97 * (double)due_total && slot_waits == 0 && active == 0 && !k.errs;
    printf("{\"mode\":\"churn-open\",\"offered_per_s\":%.1f,\"max_open\":%d,\"seconds\":%.3f,\"due\":%ld,\"started\":%ld,"
           "\"not_started\":%ld,\"conns\":%ld,\"conns_in_window\":%ld,\"conns_per_s\":%.1f,\"p50_us\":%.0f,\"p90_us\":%.0f,"
           "\"p99_us\":%.0f,\"max_us\":%.0f,\"errors\":%ld,\"short_replies\":%ld,\"abandoned\":%d,\"late_starts\":%ld,"
           "\"slot_waits\":%ld,\"max_start_lag_us\":%.0f,\"peak_open\":%d,\"kept_up\":%s,\"agents\":%ld,\"frame_bytes\":%zu,"
           "\"bytes_out\":%llu,\"bytes_in\":%llu,\"loadgen_cpu_pct\":%.1f,\"loadgen_rq_wait_pct\":%.1f,\"wall_seconds\":%.3f}\n",
           rate, maxopen, secs, due_total, started, due_total - started, k.done, k.in_window, k.in_window / secs,
           samples_pct(&lat, 50), samples_pct(&lat, 90), samples_pct(&lat, 99), samples_max(&lat), k.errs, k.short_replies, active, late,
           slot_waits, max_lag * 1e6, peak, kept_up ? "true" : "false", n_agents, frame_len, bytes_out, bytes_in,
           100.0 * cpu / wall, 100.0 * rq / wall, wall);
    return 0;
}

/* ---------------- check ---------------- */

static int check(double secs, int inflight) {
    read_agents_env();
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
    samples_sort(&lat);
    printf("{\"mode\":\"check\",\"inflight\":%d,\"peak_inflight\":%d,\"seconds\":%.3f,\"started\":%ld,\"conns\":%ld,"
           "\"conns_per_s\":%.1f,\"errors\":%ld,\"short_replies\":%ld,\"mismatches\":%ld,\"abandoned\":%d,"
           "\"bytes_out\":%llu,\"bytes_in\":%llu,\"frame_bytes\":%zu,\"p50_us\":%.0f,\"p99_us\":%.0f,\"max_us\":%.0f,"
           "\"loadgen_cpu_pct\":%.1f}\n",
           inflight, peak, wall, started, done, done / (secs < wall ? secs : wall), errs, short_replies, mismatches, active,
           bytes_out, bytes_in, frame_len, samples_pct(&lat, 50), samples_pct(&lat, 99), samples_max(&lat), 100.0 * cpu / wall);
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
    samples_sort(&lat);
    printf("{\"mode\":\"pingpong\",\"size\":%zu,\"seconds\":%.3f,\"transactions\":%ld,\"tps\":%.1f,"
           "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.0f,\"errors\":%ld,\"loadgen_cpu_pct\":%.1f,\"loadgen_rq_wait_pct\":%.1f}\n",
           size, wall, n, n / wall, samples_pct(&lat, 50), samples_pct(&lat, 90), samples_pct(&lat, 99), samples_max(&lat), errs, 100.0 * cpu / wall,
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

/* Takes "--rate R" out of argv (wherever it is), so the positional arguments stay as they were. */
static double take_rate_option(int *argc, char **argv) {
    double rate = 0;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--rate") != 0) continue;
        if (i + 1 >= *argc) { fprintf(stderr, "--rate needs a value\n"); exit(2); }
        rate = atof(argv[i + 1]);
        if (rate <= 0 || rate > 1e6) { fprintf(stderr, "--rate must be in (0, 1000000]\n"); exit(2); }
        for (int j = i; j + 2 <= *argc; j++) argv[j] = argv[j + 2];
        *argc -= 2;
        break;
    }
    return rate;
}

int main(int argc, char **argv) {
    double rate = take_rate_option(&argc, argv);
    if (argc < 6) {
        fprintf(stderr, "usage: zbxload churn HOST PORT SECONDS INFLIGHT [MAXCONNS] [--rate R]\n"
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
    if (rate > 0 && strcmp(argv[1], "churn") != 0) { fprintf(stderr, "--rate is for churn only\n"); return 2; }
    if (!strcmp(argv[1], "churn")) {
        double s = atof(argv[4]); if (s > 600) s = 600;
        int inflight = atoi(argv[5]); long maxconns = argc > 6 ? atol(argv[6]) : 0;
        if (inflight < 1) { fprintf(stderr, "INFLIGHT must be at least 1\n"); return 2; }
        return rate > 0 ? churn_open(s, inflight, maxconns, rate) : churn(s, inflight, maxconns);
    }
    if (!strcmp(argv[1], "check")) { double s = atof(argv[4]); if (s > 86400) s = 86400; return check(s, atoi(argv[5])); }
    if (!strcmp(argv[1], "pingpong")) { double s = atof(argv[4]); if (s > 600) s = 600; return pingpong(s, (size_t)atol(argv[5])); }
    if (!strcmp(argv[1], "idle")) { double h = atof(argv[5]); if (h > 600) h = 600; return idle(atol(argv[4]), h); }
    fprintf(stderr, "unknown mode %s\n", argv[1]);
    return 2;
}
