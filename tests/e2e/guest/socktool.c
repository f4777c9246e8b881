/* socktool: the small static socket tool of the minivmm e2e tests and network benchmarks, used
 * both in the L2 guest and in L1 (busybox's nc has no vsock, no Unix sockets and no hybrid-vsock
 * handshake). Addresses: tcp:PORT / tcp:HOST:PORT, vsock:PORT / vsock:CID:PORT, unix:PATH.
 *
 *   socktool listen ADDR [--echo] [--count N] [--announce TEXT]
 *       accepts N connections (default 1). Without --echo the first connection's bytes are
 *       copied to stdout until it ends (stdin is not read); with --echo every connection (handled concurrently, one child each)
 *       gets its bytes back. --announce prints TEXT on stderr once listening.
 *   socktool connect ADDR [--hybrid PORT | --hybrid-lower PORT] [--stats] [--until-closed]
 *       copies stdin to the socket (then shuts down writing) and the socket to stdout, at the
 *       same time, until both are done. --hybrid sends `CONNECT PORT\n` (--hybrid-lower: `connect`) to a minivmm vsock
 *       Unix socket and requires an `OK ...` line first. --stats prints bytes and MiB/s.
 *       --until-closed ends as soon as the peer closes, even if stdin has more.
 *   socktool many ADDR N BYTES [--hybrid PORT]
 *       opens N connections at once to an echo server, sends BYTES pseudo-random bytes on each
 *       and checks that exactly the same bytes come back; prints `many-ok N` or fails.
 * Exit codes: 0 ok, 1 usage, 2 connect/listen refused or reset, 3 data mismatch, 4 handshake. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(int code, const char *what) {
  fprintf(stderr, "socktool: %s: %s\n", what, strerror(errno));
  exit(code);
}

/* Fills *sa for ADDR; `listening` selects the PORT-only forms. Returns the address length. */
static socklen_t parse_addr(const char *spec, int listening, struct sockaddr_storage *sa) {
  memset(sa, 0, sizeof *sa);
  if (strncmp(spec, "unix:", 5) == 0) {
    struct sockaddr_un *u = (struct sockaddr_un *)sa;
    u->sun_family = AF_UNIX;
    snprintf(u->sun_path, sizeof u->sun_path, "%s", spec + 5);
    return sizeof *u;
  }
  if (strncmp(spec, "vsock:", 6) == 0) {
    struct sockaddr_vm *v = (struct sockaddr_vm *)sa;
    v->svm_family = AF_VSOCK;
    unsigned cid = VMADDR_CID_ANY, port = 0;
    if (listening ? sscanf(spec + 6, "%u", &port) != 1
                  : sscanf(spec + 6, "%u:%u", &cid, &port) != 2) {
      fprintf(stderr, "socktool: bad vsock address %s\n", spec);
      exit(1);
    }
    v->svm_cid = cid;
    v->svm_port = port;
    return sizeof *v;
  }
  if (strncmp(spec, "tcp:", 4) == 0) {
    struct sockaddr_in *in = (struct sockaddr_in *)sa;
    in->sin_family = AF_INET;
    char host[64] = "0.0.0.0";
    unsigned port = 0;
    if (listening ? sscanf(spec + 4, "%u", &port) != 1
                  : sscanf(spec + 4, "%63[^:]:%u", host, &port) != 2 ||
                        inet_pton(AF_INET, host, &in->sin_addr) != 1) {
      fprintf(stderr, "socktool: bad tcp address %s\n", spec);
      exit(1);
    }
    in->sin_port = htons((uint16_t)port);
    return sizeof *in;
  }
  fprintf(stderr, "socktool: unknown address %s\n", spec);
  exit(1);
}

static int open_connected(const char *spec) {
  struct sockaddr_storage sa;
  socklen_t len = parse_addr(spec, 0, &sa);
  int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die(2, "socket");
  if (connect(fd, (struct sockaddr *)&sa, len) != 0) die(2, spec);
  return fd;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == ENOTSOCK) w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* The hybrid-vsock handshake: `CONNECT port\n`, then one `OK <port>\n` line, read byte by byte
 * so no payload byte after it is consumed. */
static void hybrid_handshake(int fd, const char *word, const char *port) {
  char line[64];
  int n = snprintf(line, sizeof line, "%s %s\n", word, port);
  if (write_all(fd, line, (size_t)n) != 0) die(4, "handshake write");
  size_t got = 0;
  while (got < sizeof line - 1) {
    ssize_t r = read(fd, line + got, 1);
    if (r <= 0) {
      fprintf(stderr, "socktool: handshake refused (connection closed)\n");
      exit(2);
    }
    if (line[got++] == '\n') break;
  }
  line[got] = 0;
  if (strncmp(line, "OK ", 3) != 0) {
    fprintf(stderr, "socktool: handshake answer '%s'\n", line);
    exit(4);
  }
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* stdin -> sock (when `send_stdin`) and sock -> stdout at the same time, until both the socket
 * reached EOF and stdin is done; returns 0, or 2 on a reset/error. Sends never block: a client
 * that blocks in send() while its peer echoes back would deadlock once every buffer between them
 * is full. */
static int relay(int sock, int send_stdin, int until_closed, int stats) {
  static char buf[1 << 16], out[1 << 16];
  size_t out_len = 0, out_off = 0;
  int in_open = send_stdin, sock_open = 1;
  unsigned long long sent = 0, received = 0;
  double t0 = now_s();
  while (sock_open || in_open || out_off < out_len) {
    int pending = out_off < out_len;
    struct pollfd p[2] = {
        {sock, (short)((sock_open ? POLLIN : 0) | (pending ? POLLOUT : 0)), 0},
        {in_open && !pending ? 0 : -1, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      die(2, "poll");
    }
    if (sock_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = recv(sock, buf, sizeof buf, MSG_DONTWAIT);
      if (r < 0 && errno != EAGAIN && errno != EINTR) {
        fprintf(stderr, "socktool: receive: %s\n", strerror(errno));
        return 2;
      }
      if (r == 0) {
        sock_open = 0;
        if (until_closed) in_open = 0, out_len = out_off = 0;
      }
      if (r > 0) {
        received += (unsigned long long)r;
        if (write_all(1, buf, (size_t)r) != 0) die(2, "stdout");
      }
    }
    if (pending && (p[0].revents & (POLLOUT | POLLERR))) {
      ssize_t w = send(sock, out + out_off, out_len - out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w < 0 && errno != EAGAIN && errno != EINTR) {
        fprintf(stderr, "socktool: send: %s\n", strerror(errno));
        return 2;
      }
      if (w > 0) {
        out_off += (size_t)w;
        sent += (unsigned long long)w;
      }
    }
    if (p[1].fd >= 0 && p[1].revents) {
      ssize_t r = read(0, out, sizeof out);
      if (r <= 0) {
        in_open = 0;
        shutdown(sock, SHUT_WR);
      } else {
        out_len = (size_t)r;
        out_off = 0;
      }
    }
  }
  double dt = now_s() - t0;
  if (stats)
    fprintf(stderr, "socktool: sent %llu received %llu bytes in %.3f s (%.1f MiB/s)\n", sent,
            received, dt, (double)(sent > received ? sent : received) / 1048576.0 / dt);
  return 0;
}

static void echo(int fd) {
  static char buf[1 << 16];
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0 || write_all(fd, buf, (size_t)r) != 0) break;
  }
  close(fd);
}

static int cmd_listen(int argc, char **argv) {
  int do_echo = 0, count = 1;
  const char *announce = NULL;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--echo")) do_echo = 1;
    else if (!strcmp(argv[i], "--count") && i + 1 < argc) count = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--announce") && i + 1 < argc) announce = argv[++i];
  }
  struct sockaddr_storage sa;
  socklen_t len = parse_addr(argv[0], 1, &sa);
  int lfd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd < 0) die(2, "socket");
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (sa.ss_family == AF_UNIX) unlink(((struct sockaddr_un *)&sa)->sun_path);
  if (bind(lfd, (struct sockaddr *)&sa, len) != 0) die(2, "bind");
  if (listen(lfd, 256) != 0) die(2, "listen");
  if (announce) fprintf(stderr, "%s\n", announce);
  int children = 0;
  for (int i = 0; i < count; ++i) {
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) die(2, "accept");
    if (!do_echo) return relay(fd, 0, 0, 0);
    pid_t pid = fork();
    if (pid == 0) {
      echo(fd);
      _exit(0);
    }
    close(fd);
    ++children;
  }
  while (children-- > 0) wait(NULL);
  return 0;
}

static int cmd_connect(int argc, char **argv) {
  int fd = open_connected(argv[0]);
  int stats = 0, until_closed = 0;
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--hybrid") && i + 1 < argc) hybrid_handshake(fd, "CONNECT", argv[++i]);
    else if (!strcmp(argv[i], "--hybrid-lower") && i + 1 < argc)
      hybrid_handshake(fd, "connect", argv[++i]);
    else if (!strcmp(argv[i], "--stats")) stats = 1;
    else if (!strcmp(argv[i], "--until-closed")) until_closed = 1;
  }
  return relay(fd, 1, until_closed, stats);
}

static uint8_t pattern(unsigned conn, size_t i) {
  uint32_t x = (uint32_t)(conn * 2654435761u) ^ (uint32_t)(i * 40503u);
  x ^= x >> 13;
  return (uint8_t)(x * 0x5bd1e995u >> 24);
}

static int cmd_many(int argc, char **argv) {
  if (argc < 3) return 1;
  int n = atoi(argv[1]);
  size_t bytes = (size_t)atol(argv[2]);
  const char *hybrid = argc >= 5 && !strcmp(argv[3], "--hybrid") ? argv[4] : NULL;
  struct conn {
    int fd;
    size_t sent, got;
  } *c = calloc((size_t)n, sizeof *c);
  struct pollfd *p = calloc((size_t)n, sizeof *p);
  for (int i = 0; i < n; ++i) {
    c[i].fd = open_connected(argv[0]);
    if (hybrid) hybrid_handshake(c[i].fd, "CONNECT", hybrid);
  }
  static char buf[1 << 14];
  int done = 0;
  while (done < n) {
    for (int i = 0; i < n; ++i) {
      p[i].fd = c[i].got == bytes ? -1 : c[i].fd;
      p[i].events = (short)(POLLIN | (c[i].sent < bytes ? POLLOUT : 0));
    }
    if (poll(p, (nfds_t)n, 30000) <= 0) {
      fprintf(stderr, "socktool: many: stalled (%d of %d done)\n", done, n);
      return 2;
    }
    for (int i = 0; i < n; ++i) {
      if (p[i].revents & POLLOUT) {
        size_t k = bytes - c[i].sent < sizeof buf ? bytes - c[i].sent : sizeof buf;
        for (size_t j = 0; j < k; ++j) buf[j] = (char)pattern((unsigned)i, c[i].sent + j);
        ssize_t w = send(c[i].fd, buf, k, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) c[i].sent += (size_t)w;
        if (w < 0 && errno != EAGAIN) die(2, "many: send");
      }
      if (p[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t r = recv(c[i].fd, buf, sizeof buf, MSG_DONTWAIT);
        if (r < 0 && errno == EAGAIN) continue;
        if (r <= 0) {
          fprintf(stderr, "socktool: many: connection %d ended after %zu of %zu bytes\n", i,
                  c[i].got, bytes);
          return 2;
        }
        for (ssize_t j = 0; j < r; ++j)
          if ((uint8_t)buf[j] != pattern((unsigned)i, c[i].got + (size_t)j)) {
            fprintf(stderr, "socktool: many: connection %d byte %zu differs\n", i,
                    c[i].got + (size_t)j);
            return 3;
          }
        c[i].got += (size_t)r;
        if (c[i].got == bytes) {
          ++done;
          close(c[i].fd);
        }
      }
    }
  }
  printf("many-ok %d\n", n);
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc >= 3 && !strcmp(argv[1], "listen")) return cmd_listen(argc - 2, argv + 2);
  if (argc >= 3 && !strcmp(argv[1], "connect")) return cmd_connect(argc - 2, argv + 2);
  if (argc >= 3 && !strcmp(argv[1], "many")) return cmd_many(argc - 2, argv + 2);
  fprintf(stderr, "usage: socktool listen|connect|many ADDR ... (see the source's header)\n");
  return 1;
}
