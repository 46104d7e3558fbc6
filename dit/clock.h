/* clock.h — the one wall clock the tree times itself with (stage timings, stats). */
#ifndef SPADIT_CLOCK_H
#define SPADIT_CLOCK_H

/* Milliseconds on CLOCK_MONOTONIC (an arbitrary origin: only differences mean anything). */
double dit_now_ms(void);

#endif
