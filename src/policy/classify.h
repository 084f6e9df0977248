/* Classifier: the policy compiled into a structure that answers, for one packet, which rule
 * and filter apply.  Semantics are those of the naive oracle in tests/unit/policy: among all
 * filters (and the mirrors of mirrored filters) that match the packet, the one with the
 * greatest ss_filter_weight wins, ties to the earliest in the file. */
#ifndef SS_POLICY_CLASSIFY_H
#define SS_POLICY_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/addr.h"
#include "policy/policy.h"

enum ss_dir { SS_DIR_OUT = 0, SS_DIR_IN = 1 };

/* A packet as the classifier sees it.  Ports are 0 for protocols without ports. */
typedef struct ss_pkt_key {
	uint8_t dir; /* enum ss_dir: decides which side `me` stands for */
	uint8_t proto;
	uint16_t sport, dport;
	ss_addr src, dst;
} ss_pkt_key;

typedef struct ss_match {
	const ss_rule *rule;
	const ss_filter *filter;
	bool mirrored; /* matched through the implied reverse filter */
} ss_match;

typedef struct ss_classifier ss_classifier;

/* NULL on allocation failure.  The policy must outlive the classifier.  Once built it is
 * read-only: any number of threads may classify with it at once.  Compile time and memory
 * are about linear in the number of filters (bench/classify measures both). */
ss_classifier *ss_classifier_build(const ss_policy *p);
void ss_classifier_free(ss_classifier *c);
/* false when no rule matches: the Default Response rule (or plain permit) applies. */
bool ss_classify(const ss_classifier *c, const ss_pkt_key *k, ss_match *out);
/* The same for n packets at once: found[i] and out[i] as ss_classify would set them (out[i]
 * only when found[i]).  Faster per packet on large policies, because the memory accesses of
 * several packets overlap.  Returns how many were found. */
size_t ss_classify_batch(const ss_classifier *c, const ss_pkt_key *keys, size_t n, ss_match *out,
			 bool *found);
/* Bytes of memory the compiled structure uses. */
size_t ss_classifier_memory(const ss_classifier *c);

#endif
