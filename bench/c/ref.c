/*
 * The C reference loops of `npm run bench` (bench/README.md): what a tight C loop costs for the
 * same per-packet work as the core's batch operations, on the same batch layout and packets.
 * Compiled by bench/cref.ts with `cc -O2` at run time.
 *
 *   ref OP HEXPACKET BATCH MS KEY=VALUE...   time OP: one JSON line {op, batch, nsPerPacket, ...}
 *   ref OP HEXPACKET 1 0 KEY=VALUE... --dump  one round on one packet, print the packet as hex
 *   ref OP HEXPACKET BATCH -R KEY=VALUE... [--baseline]  exactly R rounds (reset + OP; with
 *       --baseline the reset only), no timing: for instruction counts under callgrind
 *
 * OP: transit (Pre-allocated trace), encap (inline insert of the pre-rendered Hop-by-Hop
 * header HBH=hex + own element), decap (own element, then remove the Hop-by-Hop header and
 * copy it out). Node and meta: ID, IDWIDE, IIF_ID, EIF_ID, IIF_WIDE, EIF_WIDE, NS, NSDATA,
 * NSWIDE, IIF (meta ingress index, -1 none), EIF, SEC, NSEC, QUEUE.
 *
 * No checks beyond the option walk: no descriptor, IPv6 or TLV validation, no outcome table.
 * The fill is Linux __ioam6_fill_trace_data (net/ipv6/ioam6.c): one `if` per Trace-Type bit.
 * Timing: CLOCK_PROCESS_CPUTIME_ID, median of 11 samples; the reset of the changed bytes is
 * timed apart and subtracted, as in the JavaScript suites and `ioam-bench floor`.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOT 768
#define HEADROOM 320

static uint32_t node_id, iif_id, eif_id, iif_wide, eif_wide, ns_id, ns_data, sec, nsec, queue;
static uint64_t node_wide, ns_wide;
static int iif_none, eif_none;
static uint8_t hbh_tpl[2048];
static size_t hbh_tpl_len;

static inline void put32(uint8_t *p, uint32_t v) {
  v = __builtin_bswap32(v);
  memcpy(p, &v, 4);
}

static inline uint32_t popcount(uint32_t x) { return (uint32_t)__builtin_popcount(x); }

/* ioam6_trace_compute_nodelen */
static inline uint32_t nodelen_of(uint32_t type) { return popcount(type & 0xff1ffc) + 2 * popcount(type & 0x00e000); }

/* __ioam6_fill_trace_data for one node element at p; hl = Hop_Lim to write. */
static inline void fill(uint8_t *p, uint32_t type, uint8_t hl) {
  if (type & 0x800000) { put32(p, ((uint32_t)hl << 24) | (node_id & 0xffffff)); p += 4; }
  if (type & 0x400000) { put32(p, ((iif_none ? 0xffffu : iif_id) << 16) | (eif_none ? 0xffffu : eif_id)); p += 4; }
  if (type & 0x200000) { put32(p, iif_none ? 0xffffffffu : sec); p += 4; }
  if (type & 0x100000) { put32(p, iif_none ? 0xffffffffu : nsec / 1000); p += 4; }
  if (type & 0x080000) { put32(p, 0xffffffffu); p += 4; }
  if (type & 0x040000) { put32(p, ns_data); p += 4; }
  if (type & 0x020000) { put32(p, eif_none ? 0xffffffffu : queue); p += 4; }
  if (type & 0x010000) { put32(p, 0xffffffffu); p += 4; }
  if (type & 0x008000) {
    uint64_t v = ((uint64_t)hl << 56) | (node_wide & 0x00ffffffffffffffull);
    put32(p, (uint32_t)(v >> 32)); put32(p + 4, (uint32_t)v); p += 8;
  }
  if (type & 0x004000) { put32(p, iif_none ? 0xffffffffu : iif_wide); put32(p + 4, eif_none ? 0xffffffffu : eif_wide); p += 8; }
  if (type & 0x002000) { put32(p, (uint32_t)(ns_wide >> 32)); put32(p + 4, (uint32_t)ns_wide); p += 8; }
  if (type & 0x001000) { put32(p, 0xffffffffu); p += 4; }
  for (uint32_t b = 0x000800; b >= 0x000004; b >>= 1)
    if (type & b) { put32(p, 0xffffffffu); p += 4; }
  if (type & 0x000002) put32(p, 0x00ffffff); /* no schema bound */
}

/* Pre-allocated trace update at trace header t (Namespace-ID first). */
static inline void fill_prealloc(uint8_t *t, uint8_t hl) {
  if (t[2] & 0x04) return;
  uint32_t type = ((uint32_t)t[4] << 16) | ((uint32_t)t[5] << 8) | t[6];
  uint32_t need = (uint32_t)(t[2] >> 3) + ((type & 2) ? 1 : 0);
  uint32_t rem = t[3] & 0x7f;
  if (!rem || rem < need) { t[2] |= 0x04; return; }
  fill(t + 8 + (rem - need) * 4, type, hl);
  t[3] = (uint8_t)((t[3] & 0x80) | (rem - need));
}

/* The option walk: each Pre-allocated IOAM option of our namespace gets the element. */
static inline void walk(uint8_t *p, uint8_t hl) {
  uint32_t end = 40 + (p[41] + 1u) * 8, o = 42;
  while (o < end) {
    uint8_t t = p[o];
    if (t == 0) { o++; continue; }
    if (t == 0x31 && p[o + 3] == 0 && (uint32_t)((p[o + 4] << 8) | p[o + 5]) == ns_id) fill_prealloc(p + o + 4, hl);
    o += p[o + 1] + 2u;
  }
}

/* Per-packet state: offset and length in the buffer. */
static uint32_t *off_, *len_;
static uint8_t *arena;

static void transit(uint8_t *buf, int i) {
  uint8_t *p = buf + off_[i];
  if (p[6] == 0) walk(p, (uint8_t)(p[7] - 1));
}

static void encap(uint8_t *buf, int i) {
  uint8_t *p = buf + off_[i];
  size_t h = hbh_tpl_len;
  uint8_t *q = p - h;
  memmove(q, p, 40);
  memcpy(q + 40, hbh_tpl, h);
  q[40] = q[6]; /* the inserted header's next header = the packet's */
  off_[i] -= (uint32_t)h;
  len_[i] += (uint32_t)h;
  uint32_t plen = len_[i] - 40;
  q[4] = (uint8_t)(plen >> 8);
  q[5] = (uint8_t)plen;
  q[6] = 0;
  fill_prealloc(q + 48, q[7]);
}

static void decap(uint8_t *buf, int i) {
  uint8_t *p = buf + off_[i];
  if (p[6] != 0) return;
  walk(p, (uint8_t)(p[7] - 1));
  uint32_t h = (p[41] + 1u) * 8;
  memcpy(arena + (size_t)i * 512, p + 40, h);
  uint8_t nh = p[40];
  memmove(p + h, p, 40);
  p += h;
  p[6] = nh;
  uint32_t plen = ((uint32_t)p[4] << 8 | p[5]) - h;
  p[4] = (uint8_t)(plen >> 8);
  p[5] = (uint8_t)plen;
  off_[i] += h;
  len_[i] -= h;
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint8_t *buf, *pristine;
static uint32_t *poff, *plen0;
static int n;
static size_t ra, rb; /* reset range from the packet start */
static void (*op)(uint8_t *, int);

static void reset(void) {
  for (int i = 0; i < n; i++) {
    memcpy(buf + poff[i] + ra, pristine + poff[i] + ra, rb - ra);
    off_[i] = poff[i];
    len_[i] = plen0[i];
  }
}

static void round_op(void) {
  reset();
  for (int i = 0; i < n; i++) op(buf, i);
}

static double median_ns(double ms, void (*f)(void)) {
  long iters = 1;
  for (;;) {
    double t = now_ns();
    for (long k = 0; k < iters; k++) f();
    double e = now_ns() - t;
    if (e * 11 >= ms * 1e6 || iters >= (1L << 30)) break;
    iters *= 2;
  }
  double s[11];
  for (int j = 0; j < 11; j++) {
    double t = now_ns();
    for (long k = 0; k < iters; k++) f();
    s[j] = (now_ns() - t) / (double)iters;
  }
  for (int a = 0; a < 11; a++)
    for (int b = a + 1; b < 11; b++)
      if (s[b] < s[a]) { double x = s[a]; s[a] = s[b]; s[b] = x; }
  return s[5];
}

static size_t unhex(const char *h, uint8_t *out, size_t cap) {
  size_t k = 0;
  while (h[0] && h[1] && k < cap) {
    unsigned v;
    sscanf(h, "%2x", &v);
    out[k++] = (uint8_t)v;
    h += 2;
  }
  return k;
}

static const char *kv(int argc, char **argv, const char *key, const char *dflt) {
  size_t l = strlen(key);
  for (int i = 5; i < argc; i++)
    if (!strncmp(argv[i], key, l) && argv[i][l] == '=') return argv[i] + l + 1;
  return dflt;
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: ref transit|encap|decap HEXPACKET BATCH MS KEY=VALUE... [--dump]\n");
    return 2;
  }
  const char *opn = argv[1];
  uint8_t pkt[1024];
  size_t plen = unhex(argv[2], pkt, sizeof pkt);
  n = atoi(argv[3]);
  double ms = atof(argv[4]);
  int dump = !strcmp(argv[argc - 1], "--dump");
  node_id = (uint32_t)strtoul(kv(argc, argv, "ID", "0"), 0, 0);
  node_wide = strtoull(kv(argc, argv, "IDWIDE", "0"), 0, 0);
  iif_id = (uint32_t)strtoul(kv(argc, argv, "IIF_ID", "65535"), 0, 0);
  eif_id = (uint32_t)strtoul(kv(argc, argv, "EIF_ID", "65535"), 0, 0);
  iif_wide = (uint32_t)strtoul(kv(argc, argv, "IIF_WIDE", "4294967295"), 0, 0);
  eif_wide = (uint32_t)strtoul(kv(argc, argv, "EIF_WIDE", "4294967295"), 0, 0);
  ns_id = (uint32_t)strtoul(kv(argc, argv, "NS", "0"), 0, 0);
  ns_data = (uint32_t)strtoul(kv(argc, argv, "NSDATA", "4294967295"), 0, 0);
  ns_wide = strtoull(kv(argc, argv, "NSWIDE", "18446744073709551615"), 0, 0);
  iif_none = atoi(kv(argc, argv, "IIF", "-1")) < 0;
  eif_none = atoi(kv(argc, argv, "EIF", "-1")) < 0;
  sec = (uint32_t)strtoul(kv(argc, argv, "SEC", "0"), 0, 0);
  nsec = (uint32_t)strtoul(kv(argc, argv, "NSEC", "0"), 0, 0);
  queue = (uint32_t)strtoul(kv(argc, argv, "QUEUE", "4294967295"), 0, 0);
  hbh_tpl_len = unhex(kv(argc, argv, "HBH", ""), hbh_tpl, sizeof hbh_tpl);
  uint32_t hbh = (pkt[41] + 1u) * 8;
  if (!strcmp(opn, "transit")) { op = transit; ra = 48; rb = 52; }
  else if (!strcmp(opn, "encap")) { op = encap; ra = 0; rb = 40; }
  else if (!strcmp(opn, "decap")) { op = decap; ra = 0; rb = 40 + hbh; }
  else { fprintf(stderr, "unknown op %s\n", opn); return 2; }
  if (n < 1 || plen < 40 || plen + HEADROOM > SLOT || (op == encap && hbh_tpl_len < 8)) { fprintf(stderr, "bad arguments\n"); return 2; }
  buf = aligned_alloc(64, (size_t)n * SLOT);
  pristine = aligned_alloc(64, (size_t)n * SLOT);
  arena = aligned_alloc(64, (size_t)n * 512);
  off_ = malloc(n * 4); len_ = malloc(n * 4); poff = malloc(n * 4); plen0 = malloc(n * 4);
  memset(buf, 0, (size_t)n * SLOT);
  for (int i = 0; i < n; i++) {
    poff[i] = (uint32_t)(i * SLOT + HEADROOM);
    plen0[i] = (uint32_t)plen;
    memcpy(buf + poff[i], pkt, plen);
  }
  memcpy(pristine, buf, (size_t)n * SLOT);
  if (dump) {
    round_op();
    for (uint32_t k = 0; k < len_[0]; k++) printf("%02x", buf[off_[0] + k]);
    printf("\n");
    return 0;
  }
  if (ms < 0) {
    int base = !strcmp(argv[argc - 1], "--baseline");
    for (long r = 0; r < (long)-ms; r++) {
      if (base) reset();
      else round_op();
    }
    printf("%s rounds=%ld batch=%d baseline=%d\n", opn, (long)-ms, n, base);
    return 0;
  }
  double gross = median_ns(ms, round_op);
  double rst = median_ns(ms / 2, reset);
  double net = (gross - rst) / n;
  printf("{\"op\":\"%s\",\"batch\":%d,\"nsPerPacket\":%.2f,\"grossNsPerPacket\":%.2f,\"resetNsPerPacket\":%.2f}\n", opn, n, net < 0 ? 0 : net, gross / n, rst / n);
  return 0;
}
