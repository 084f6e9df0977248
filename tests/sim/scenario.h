#ifndef SS_SIM_SCENARIO_H
#define SS_SIM_SCENARIO_H

#include "negotiator.h"

/* Runs one scenario file with hosts' IKE done by nops (NULL: the stand-in); returns the
 * number of failed expectations (0: pass). */
int scenario_run(const char *path, const sim_negotiator_ops *nops);

#endif
