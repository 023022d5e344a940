/* The check-mode exchange shared by zbxsrv (which answers) and zbxload (which verifies): the
 * reply to a request frame carries the request's length and CRC-32, so a byte changed in either
 * direction shows as a mismatch. One definition, included by both programs. */
#ifndef ZBX_CHECK_REPLY_H
#define ZBX_CHECK_REPLY_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* CRC-32 (zlib's polynomial), bitwise: the frames are small. */
static uint32_t crc32_bytes(const unsigned char *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

/* The check-mode reply for a request frame of LEN bytes with CRC, written to OUT; its length. */
static size_t check_reply(unsigned char *out, size_t len, uint32_t crc) {
    char json[200];
    int n = snprintf(json, sizeof json,
        "{\"response\":\"success\",\"info\":\"processed: 1; failed: 0; total: 1\",\"check\":\"%zu:%08x\"}", len, crc);
    memcpy(out, "ZBXD\x01", 5);
    out[5] = n & 0xff; out[6] = (n >> 8) & 0xff; out[7] = (n >> 16) & 0xff; out[8] = (unsigned)n >> 24;
    memset(out + 9, 0, 4);
    memcpy(out + 13, json, (size_t)n);
    return 13 + (size_t)n;
}

#endif
