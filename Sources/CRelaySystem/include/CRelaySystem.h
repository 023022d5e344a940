// Linux system calls and constants the relay's event loop needs that Glibc's Swift module does
// not bring: epoll, eventfd, accept4, and the TCP options it sets (Sources/Relay/EventLoop).
#pragma once
#ifdef __linux__
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

/// accept4(fd, addr, len, flags)
int crelay_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);

/// The `epoll_event` data word (the struct is packed on x86-64, so Swift reads it through these).
static inline unsigned long long crelay_event_data(const struct epoll_event *event) { return event->data.u64; }
static inline unsigned int crelay_event_flags(const struct epoll_event *event) { return event->events; }

/// Names the calling thread (shown by top -H, /proc/PID/task/TID/comm); at most 15 characters.
void crelay_set_thread_name(const char *name);

/// epoll_ctl(EPOLL_CTL_ADD) with `events` and the data word `data`.
int crelay_epoll_add(int epfd, int fd, unsigned int events, unsigned long long data);
#endif
