/* fuzz_json_config.c — libFuzzer target: every JSON config reader on arbitrary bytes.
 * The input is parsed once with cJSON and handed to the Wan DiT config, the umT5 config, the VAE
 * config, the attention preset and spadit.json readers; none may crash, leak or hit UB (integers
 * beyond int, NaN, absurd sizes), and what they accept must be self-consistent.
 *   build-fuzz/tools/fuzz_json_config corpus/ seeds/   (seeds: tests/data and configs/ JSON files) */
#include <stddef.h> /* size_t */
#include <stdint.h> /* uint8_t */
#include <stdlib.h> /* abort */

#include "../attention/policy.h"     /* attn_policy_from_json */
#include "../models/wan/umt5.h"      /* wan_umt5_config_from_json */
#include "../models/wan/vae.h"       /* wan_vae_config_from_json */
#include "../models/wan/wan_config.h" /* wan_config_from_json */
#include "../models/wan/wan_t2v.h"   /* wan_t2v_defaults_from_json */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    if (!j) return 0;
    dit_err err = {0};
    wan_config wc;
    if (wan_config_from_json(j, "config.json", &wc, &err) == DIT_OK) {
        if (wc.dim != wc.heads * wc.head_dim || wc.layers < 1 || wan_config_param_count(&wc) <= 0) abort();
    }
    wan_umt5_config uc;
    (void)wan_umt5_config_from_json(j, "config.json", &uc, &err);
    wan_vae_config vc;
    if (wan_vae_config_from_json(j, "config.json", &vc, &err) == DIT_OK && wan_vae_out_frames(&vc, 21) < 21) abort();
    attn_policy pol;
    (void)attn_policy_from_json(j, "preset.json", "preset", &pol, &err);
    wan_t2v_defaults d = {0};
    d.width = 832, d.height = 480, d.frames = 81, d.fps = 16, d.steps = 50, d.shift = 5, d.guidance = 5;
    if (wan_t2v_defaults_from_json(j, "spadit.json", &d, &err) == DIT_OK) {
        if (d.width < 1 || d.height < 1 || d.frames < 1 || d.steps < 1 || d.fps < 1) abort();
    }
    cJSON_Delete(j);
    return 0;
}
