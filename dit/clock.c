/* clock.c — dit_now_ms (clock.h). */
#include "clock.h"

#include <time.h> /* clock_gettime */

double dit_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}
