/* nsprobe: the other hosts' side of the netns tests.
 *   nsprobe udp-recv PORT MS COUNT        prints each datagram; exit 0 when COUNT arrived,
 *                                         1 at the deadline (COUNT 0: exit 0 iff none came)
 *   nsprobe udp-send DST PORT TEXT [SPORT [COUNT]]   (TEXT "hex:0011..": those bytes)
 *   nsprobe esp-recv MS COUNT [UDPPORT]   raw IP protocol 50 (v4 and v6) and ESP-in-UDP
 *   nsprobe esp-send DST SPI              one fake ESP packet over IP protocol 50 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/addr.h"
#include "base/clock.h"

static int udp_bind(uint16_t port)
{
	int fd = socket(AF_INET6, SOCK_DGRAM, 0), zero = 0, one = 1;
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		perror("nsprobe: bind");
		exit(3);
	}
	return fd;
}

static const char *from_str(struct sockaddr_storage *ss, char *buf)
{
	ss_addr a;
	uint16_t port;
	if (ss->ss_family == AF_INET6) {
		/* v4-mapped from a dual-stack socket: show the IPv4 address */
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			const uint8_t *b = s6->sin6_addr.s6_addr + 12;
			a = ss_addr_v4((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]);
			return ss_addr_fmt(&a, buf);
		}
	}
	if (!ss_addr_from_sockaddr((struct sockaddr *)ss, &a, &port))
		return "?";
	return ss_addr_fmt(&a, buf);
}

static int run_recv(struct pollfd *p, int n, const char *const *kind, int ms, int count)
{
	int got = 0;
	size_t bytes = 0;
	ss_time end = ss_now_ms() + (ss_time)ms;
	while (count == 0 || got < count) {
		ss_time now = ss_now_ms();
		if (now >= end)
			break;
		if (poll(p, (nfds_t)n, (int)(end - now)) <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			uint8_t b[4096];
			struct sockaddr_storage ss;
			socklen_t sl = sizeof ss;
			ssize_t r = recvfrom(p[i].fd, b, sizeof b - 1, 0, (struct sockaddr *)&ss, &sl);
			if (r < 0)
				continue;
			char a[SS_ADDR_STRLEN];
			const uint8_t *d = b;
			size_t len = (size_t)r;
			if (!strcmp(kind[i], "esp-raw4") && len >= 20) {
				size_t ihl = (size_t)(b[0] & 15) * 4;
				d += ihl;
				len -= ihl;
			}
			bytes += len;
			if (got >= 5) {
				/* enough to show what came; the count says the rest */
			} else if (!strcmp(kind[i], "udp")) {
				b[r] = 0;
				printf("udp from %s: %s\n", from_str(&ss, a), (char *)b);
			} else if (len >= 4) {
				printf("%s from %s spi=0x%02x%02x%02x%02x len=%zu\n", kind[i], from_str(&ss, a),
				       d[0], d[1], d[2], d[3], len);
			}
			got++;
		}
	}
	printf("got %d bytes=%zu\n", got, bytes);
	return count == 0 ? (got == 0 ? 0 : 1) : (got >= count ? 0 : 1);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 5 && !strcmp(argv[1], "udp-recv")) {
		struct pollfd p = { .fd = udp_bind((uint16_t)atoi(argv[2])), .events = POLLIN };
		const char *kind[] = { "udp" };
		printf("listening\n");
		return run_recv(&p, 1, kind, atoi(argv[3]), atoi(argv[4]));
	}
	if (argc >= 5 && !strcmp(argv[1], "udp-send")) {
		ss_addr a;
		struct sockaddr_storage ss;
		if (!ss_addr_parse(argv[2], &a))
			return 2;
		socklen_t sl = (socklen_t)ss_addr_to_sockaddr(&a, (uint16_t)atoi(argv[3]), &ss);
		int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
		if (argc >= 6) {
			struct sockaddr_storage me;
			ss_addr any = { .family = a.family };
			socklen_t ml = (socklen_t)ss_addr_to_sockaddr(&any, (uint16_t)atoi(argv[5]), &me);
			if (bind(fd, (struct sockaddr *)&me, ml) < 0)
				perror("nsprobe: bind");
		}
		int count = argc >= 7 ? atoi(argv[6]) : 1;
		uint8_t msg[1024];
		size_t mlen = 0;
		if (!strncmp(argv[4], "hex:", 4)) {
			for (const char *h = argv[4] + 4; h[0] && h[1] && mlen < sizeof msg; h += 2) {
				char two[3] = { h[0], h[1], 0 };
				msg[mlen++] = (uint8_t)strtoul(two, NULL, 16);
			}
		} else {
			mlen = strlen(argv[4]) < sizeof msg ? strlen(argv[4]) : sizeof msg;
			memcpy(msg, argv[4], mlen);
		}
		for (int i = 0; i < count; i++) {
			if (sendto(fd, msg, mlen, 0, (struct sockaddr *)&ss, sl) < 0) {
				perror("nsprobe: sendto");
				return 1;
			}
		}
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "esp-recv")) {
		struct pollfd p[3];
		const char *kind[3] = { "esp-raw4", "esp-raw6", "esp-udp" };
		p[0] = (struct pollfd){ .fd = socket(AF_INET, SOCK_RAW, IPPROTO_ESP), .events = POLLIN };
		p[1] = (struct pollfd){ .fd = socket(AF_INET6, SOCK_RAW, IPPROTO_ESP), .events = POLLIN };
		int n = 2;
		if (argc >= 5)
			p[n++] = (struct pollfd){ .fd = udp_bind((uint16_t)atoi(argv[4])), .events = POLLIN };
		if (p[0].fd < 0 || p[1].fd < 0) {
			perror("nsprobe: raw socket");
			return 3;
		}
		printf("listening\n");
		return run_recv(p, n, kind, atoi(argv[2]), atoi(argv[3]));
	}
	if (argc >= 4 && !strcmp(argv[1], "esp-send")) {
		ss_addr a;
		struct sockaddr_storage ss;
		if (!ss_addr_parse(argv[2], &a))
			return 2;
		socklen_t sl = (socklen_t)ss_addr_to_sockaddr(&a, 0, &ss);
		int fd = socket(ss.ss_family, SOCK_RAW, IPPROTO_ESP);
		uint8_t b[48];
		uint32_t spi = (uint32_t)strtoul(argv[3], NULL, 0);
		memset(b, 0xcd, sizeof b);
		b[0] = (uint8_t)(spi >> 24), b[1] = (uint8_t)(spi >> 16), b[2] = (uint8_t)(spi >> 8), b[3] = (uint8_t)spi;
		if (fd < 0 || sendto(fd, b, sizeof b, 0, (struct sockaddr *)&ss, sl) < 0) {
			perror("nsprobe: esp-send");
			return 1;
		}
		return 0;
	}
	fprintf(stderr, "usage: see the top of nsprobe.c\n");
	return 2;
}
