/* test_memory.c — the run-memory estimate (wan_t2v_memory, wan_run_check_memory) that refuses
 * out-of-memory sizes before anything is allocated (issue 14): small runs are small, the largest
 * accepted size gives a finite estimate without overflow, the estimate grows with the size, and a
 * cap below it is refused with "needs X GiB ... available". */
#include "../models/wan/wan_dit.h" /* wan_run_check_memory, wan_dit_read_config */
#include "../models/wan/wan_t2v.h" /* wan_t2v_memory, wan_t2v_generate */
#include "test_util.h"

int main(void) {
    dit_err err = {0};
    wan_t2v_paths paths;
    dit_backend *be = NULL;
    if (wan_t2v_locate(SPADIT_TEST_DATA "/pipe_tiny", &paths, &err) != DIT_OK ||
        dit_backend_create("cpu", &be, &err) != DIT_OK) {
        printf("%s\n", err.msg);
        return 1;
    }
    wan_t2v_opts o;
    memset(&o, 0, sizeof o);
    o.prompt = "p", o.steps = 1, o.guidance = 1, o.vae_tiling = 1;
    o.width = 64, o.height = 48, o.frames = 5;
    wan_t2v_mem small, mid, big;
    CHECK(wan_t2v_memory(&paths, &o, be, &small, &err) == DIT_OK && small.host > 0 && small.host < ((int64_t)1 << 30) &&
              small.device == 0,
          "64x48x5: %lld bytes (%s)", (long long)small.host, err.msg);
    o.width = 832, o.height = 480, o.frames = 81;
    CHECK(wan_t2v_memory(&paths, &o, be, &mid, &err) == DIT_OK && mid.host > 10 * small.host &&
              mid.frames == (int64_t)81 * 480 * 832 * 3 * 5,
          "832x480x81: %lld bytes, frames %lld", (long long)mid.host, (long long)mid.frames);
    o.width = o.height = WAN_T2V_MAX_SIDE, o.frames = 1001; /* the largest size the flags accept */
    CHECK(wan_t2v_memory(&paths, &o, be, &big, &err) == DIT_OK && big.host > mid.host &&
              big.host > ((int64_t)1 << 47),
          "largest: %lld bytes (%s)", (long long)big.host, err.msg);
    /* a cap below the estimate: refused before the text encoder runs, naming both figures */
    o.width = 64, o.height = 48, o.frames = 5, o.max_memory = small.host / 2;
    wan_t2v_result res;
    dit_err_clear(&err);
    CHECK(wan_t2v_generate(&paths, be, &o, NULL, NULL, NULL, &res, &err) == DIT_ERR_OOM && strstr(err.msg, "needs") &&
              strstr(err.msg, "GiB available (--max-memory)"),
          "capped run: %s", err.msg);
    /* wan_run_check_memory: a latent grid far beyond any machine */
    wan_config c;
    CHECK(wan_dit_read_config(paths.dit, &c, &err) == DIT_OK, "config: %s", err.msg);
    dit_err_clear(&err);
    CHECK(wan_run_check_memory(&c, be, 4096, 4096, 4096, 0, &err) == DIT_ERR_OOM &&
              strstr(err.msg, "latent grid 4096x4096x4096 needs"),
          "huge grid: %s", err.msg);
    CHECK(wan_run_check_memory(&c, be, 2, 6, 8, 0, &err) == DIT_OK, "small grid refused");
    dit_backend_destroy(&be);
    return test_summary("test_memory");
}
