/*
 * Region markers. The RUN stage finds these functions by symbol name in app.elf and counts the
 * instructions executed between a *_begin and the matching *_end call (mcuorch-qemu-run's
 * plugin). The names are therefore part of the RUN contract; see sw/README.md.
 *   Setup: mcuorch_model_init()
 *   Run:   one mcuorch_model_invoke() (entered once per golden vector)
 */
#ifndef MCUORCH_REGIONS_H
#define MCUORCH_REGIONS_H

void mcuorch_setup_begin(void);
void mcuorch_setup_end(void);
void mcuorch_run_begin(void);
void mcuorch_run_end(void);

/* CSR-counted markers only (regions_csr.c): print the counts; the platform calls it at exit. */
void mcuorch_regions_report(void);

#endif
