// Linux epoll and accept4 for epoll-floor (Glibc's Swift module has neither).
#pragma once
#ifdef __linux__
#include <sys/epoll.h>

/// accept4(fd, NULL, NULL, flags)
int cepoll_accept4(int fd, int flags);
#endif
