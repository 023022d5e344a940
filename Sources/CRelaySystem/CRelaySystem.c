#ifdef __linux__
#define _GNU_SOURCE
#include "CRelaySystem.h"
#include <pthread.h>

void crelay_set_thread_name(const char *name) {
    pthread_setname_np(pthread_self(), name);
}

int crelay_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    return accept4(fd, addr, len, flags);
}

int crelay_epoll_add(int epfd, int fd, unsigned int events, unsigned long long data) {
    struct epoll_event event = { .events = events, .data = { .u64 = data } };
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
}
#endif
