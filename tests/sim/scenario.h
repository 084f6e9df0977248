#ifndef SS_SIM_SCENARIO_H
#define SS_SIM_SCENARIO_H

/* Runs one scenario file; returns the number of failed expectations (0: pass). */
int scenario_run(const char *path);

#endif
