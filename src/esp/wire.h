/* ESP wire constants: every number the ESP datapath puts on or reads from the wire, with the
 * RFC section that defines it.  RFC 4303 (ESP), RFC 3948 (UDP encapsulation), RFC 4106
 * (AES-GCM in ESP), RFC 3602 (AES-CBC), RFC 4868 (HMAC-SHA2), RFC 791 / 8200 (IP headers). */
#ifndef SS_ESP_WIRE_H
#define SS_ESP_WIRE_H

#include "base/ip.h" /* IP protocol numbers */

enum ss_esp_wire {
	/* RFC 4303 §2: SPI (4) and Sequence Number (4) start every ESP packet. */
	SS_ESP_HDR_LEN = 8,
	/* RFC 4303 §2.4-2.5: Pad Length (1) and Next Header (1) close the encrypted part. */
	SS_ESP_TRAILER_LEN = 2,
	/* RFC 4303 §2.4: at most 255 bytes of padding. */
	SS_ESP_PAD_MAX = 255,
	/* RFC 4303 §2.4: the ciphertext ends on a 4-byte boundary even for stream/AEAD modes. */
	SS_ESP_MIN_ALIGN = 4,
	/* RFC 4303 §2.1: SPI values 1-255 are reserved by IANA, 0 is local use only. */
	SS_ESP_SPI_MIN = 256,

	/* RFC 4106 §3.1: 8-byte explicit IV; §4: 4-byte salt from the key material; §6: 16-byte
	 * ICV (the "-16" in AES-GCM-16). Nonce = salt || IV. */
	SS_GCM_IV_LEN = 8,
	SS_GCM_SALT_LEN = 4,
	SS_GCM_NONCE_LEN = 12,
	SS_GCM_ICV_LEN = 16,
	/* RFC 4106 §5: AAD = SPI || Seq (8), or SPI || Seq high || Seq low with ESN (12). */
	SS_GCM_AAD_LEN = 8,
	SS_GCM_AAD_ESN_LEN = 12,

	/* RFC 3602 §2.1/§3: AES-CBC with a 16-byte random explicit IV; ciphertext in 16-byte blocks. */
	SS_CBC_IV_LEN = 16,
	SS_CBC_BLOCK = 16,

	/* RFC 3948 §2.1: UDP header in front of the ESP header; §2.2: NAT keepalive is one 0xFF;
	 * a zero 4-byte "non-ESP marker" announces IKE on port 4500 (IKE's, not ours). */
	SS_UDP_HDR_LEN = 8,
	SS_UDP_ENCAP_PORT = 4500,
	SS_NON_ESP_MARKER_LEN = 4,
	SS_NATT_KEEPALIVE = 0xff,

	SS_IPV4_HDR_LEN = 20,   /* RFC 791 §3.1, without options */
	SS_IPV6_HDR_LEN = 40,   /* RFC 8200 §3 */
	SS_IPV4_DF = 0x4000,    /* flags+fragment offset field */
	SS_IPV4_MF = 0x2000,
	SS_IPV4_OFFMASK = 0x1fff,
	SS_IP_DEFAULT_TTL = 64,
};

/* RFC 4303 §2.2.1 + Appendix A: the 32-bit sequence number space without ESN, 64-bit with.
 * A sender must never wrap: the SA is rekeyed before the last number. */
#define SS_ESP_SEQ_MAX_32 0xffffffffULL
#define SS_ESP_SEQ_MAX_64 0xffffffffffffffffULL

/* RFC 4868 §2.3: ICV truncation of HMAC-SHA2: 256->128, 384->192, 512->256 bits. */
enum ss_hmac_icv_len {
	SS_HMAC_SHA256_ICV = 16,
	SS_HMAC_SHA384_ICV = 24,
	SS_HMAC_SHA512_ICV = 32,
};

#endif
