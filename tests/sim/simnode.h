/* Simulated hosts that run the node (src/node): the real glue between the agent, the real
 * IKEv2 engine and a dataplane, with the simulator's dataplane backend behind it (simnode.c).
 * This is what `--engine` runs; the stand-in negotiator (standin.c) keeps sim.c's own glue. */
#ifndef SS_SIM_SIMNODE_H
#define SS_SIM_SIMNODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/agent.h"
#include "base/addr.h"
#include "base/clock.h"

struct sim_host;
typedef struct sim_node sim_node;

/* Over the host's agent (h->agent, attached here), policy and credential. */
sim_node *simnode_new(struct sim_host *h);
void simnode_free(sim_node *sn);
/* An application packet (k->dir OUT: acquired on its way out; IN: arrived in the clear); the
 * node's verdict comes back through sim_host_verdict with this handle. */
void simnode_packet(sim_node *sn, ss_time now, const ss_pkt_key *k, uint32_t len, uint64_t handle);
void simnode_ike(sim_node *sn, ss_time now, const ss_addr *src, const ss_addr *dst, const uint8_t *p, size_t len);
void simnode_icmp(sim_node *sn, ss_time now, const uint8_t *quoted, size_t len);
/* ESP out: the SPI of the pair's newest outbound SA (0: none), counted. */
uint32_t simnode_esp_out(sim_node *sn, const ss_addr *local, const ss_addr *remote);
/* ESP in with this SPI: true (counted) when an inbound SA of the pair has it; else the
 * dataplane reports an unknown SPI to the node. */
bool simnode_esp_in(sim_node *sn, ss_time now, const ss_addr *local, const ss_addr *remote, uint32_t spi);
void simnode_run(sim_node *sn, ss_time now);
ss_time simnode_deadline(sim_node *sn);
void simnode_timer(sim_node *sn, ss_time now);
/* `softsa terminate`. */
void simnode_terminate(sim_node *sn, ss_time now, const ss_addr *peer);
/* IKE SAs and CHILD SAs left (for the memory invariant). */
size_t simnode_active(sim_node *sn);

#endif
