/* test_generate.c — text to video end to end on the CPU against diffusers' own
 * WanPipeline (tools/gen_pipeline_golden.py): a tiny random pipeline (tokenizer,
 * umT5, DiT, VAE in the diffusers layout), the same initial latents, the Euler
 * sampler on diffusers' FlowMatchEuler schedule, CFG with a negative prompt.
 * The decoded frames must agree to within the uint8 rounding of Wan's
 * cache_video (max |diff| <= 2/255, mean well below).  Then `spadit generate`
 * writes an mp4 with the same settings, read back with libavformat: codec,
 * pixel format, frame count, fps and the metadata comment. */
#include <math.h>
#include <unistd.h> /* unlink */

#include "../io/safetensors.h"
#include "../io/video.h"
#include "../models/wan/wan_t2v.h"
#include "test_util.h"

int main(int argc, char **argv) {
    const char *spadit = argc > 1 ? argv[1] : NULL;
    char dir[512], iop[512];
    snprintf(dir, sizeof dir, "%s/pipe_tiny", SPADIT_TEST_DATA);
    snprintf(iop, sizeof iop, "%s/pipe_tiny_io.safetensors", SPADIT_TEST_DATA);
    dit_err err = {0};
    wan_t2v_paths paths;
    wan_t2v_defaults def;
    CHECK(wan_t2v_locate(dir, &paths, &err) == DIT_OK, "%s", err.msg);
    CHECK(wan_t2v_defaults_load(dir, &def, &err) == DIT_OK && def.width == 64 && def.frames == 5 &&
              !def.negative_is_wan_default,
          "spadit.json defaults: %s", err.msg);
    /* spadit.json without "sampler" keeps the default (regression: it once came back empty) */
    {
        char tdir[] = "/tmp/spadit_defaults_XXXXXX", jp[600];
        CHECK(mkdtemp(tdir) != NULL, "mkdtemp");
        snprintf(jp, sizeof jp, "%s/spadit.json", tdir);
        FILE *f = fopen(jp, "w");
        fputs("{\"width\": 832, \"steps\": 50}", f);
        fclose(f);
        wan_t2v_defaults d2;
        CHECK(wan_t2v_defaults_load(tdir, &d2, &err) == DIT_OK && !strcmp(d2.sampler, "unipc") && d2.width == 832,
              "defaults without a sampler: '%s' %s", d2.sampler, err.msg);
        f = fopen(jp, "w");
        fputs("{\"sampler\": 3}", f);
        fclose(f);
        CHECK(wan_t2v_defaults_load(tdir, &d2, &err) == DIT_ERR_FORMAT && strstr(err.msg, "sampler"),
              "a non-string sampler is an error naming it: %s", err.msg);
        unlink(jp);
        rmdir(tdir);
    }
    io_safetensors *io = NULL;
    if (io_safetensors_open(iop, &io, &err) != DIT_OK) return printf("%s\n", err.msg), 1;
    const io_st_tensor *lt = io_safetensors_find(io, "latent"), *vt = io_safetensors_find(io, "video");
    int64_t nl = io_st_tensor_numel(lt), nv = io_st_tensor_numel(vt);
    float *lat = malloc((size_t)nl * 4), *ref = malloc((size_t)nv * 4);
    io_st_tensor_to_f32(lt, lat, nl, iop, &err);
    io_st_tensor_to_f32(vt, ref, nv, iop, &err);
    dit_backend *be;
    dit_backend_create("cpu", &be, &err);
    attn_policy pol = attn_policy_dense();
    wan_t2v_opts o;
    memset(&o, 0, sizeof o);
    o.prompt = "a red circle moves to the right";
    o.negative_prompt = def.negative_prompt;
    o.width = def.width, o.height = def.height, o.frames = def.frames, o.steps = def.steps;
    o.shift = def.shift, o.guidance = def.guidance;
    o.solver = SMP_SOLVER_EULER;
    o.policy = &pol;
    o.cache_dir = "";
    o.vae_tiling = 0;
    o.noise = lat;
    wan_t2v_result res;
    dit_status s = wan_t2v_generate(&paths, be, &o, NULL, NULL, NULL, &res, &err);
    CHECK(s == DIT_OK, "generate: %s", err.msg);
    if (s == DIT_OK) {
        CHECK(res.frames == 5 && res.width == 64 && res.height == 48 && (int64_t)res.frames * 48 * 64 * 3 == nv,
              "result %d frames %dx%d", res.frames, res.width, res.height);
        double mx = 0, mean = 0;
        for (int64_t i = 0; i < nv; i++) {
            double d = fabs(res.rgb[i] / 255.0 - ref[i]);
            mx = d > mx ? d : mx;
            mean += d;
        }
        mean /= (double)nv;
        printf("spadit vs diffusers WanPipeline: max |diff| %.4f (%.2f/255), mean %.5f\n", mx, mx * 255, mean);
        CHECK(mx <= 2.0 / 255 + 1e-6 && mean < 0.6 / 255, "frames differ: max %.4f mean %.5f", mx, mean);
        wan_t2v_result_free(&res);
    }
    /* the same run through the CLI, into an mp4 read back with libavformat */
    if (spadit && io_video_have_ffmpeg()) {
        char out[256];
        snprintf(out, sizeof out, "/tmp/spadit_test_generate_%d.mp4", (int)getpid());
        char *run1[] = {(char *)spadit, "generate", "a red circle moves to the right", "--model", (char *)dir,
                        "--no-cache", "--seed", "7", "--quiet", "--out", out, NULL};
        CHECK(test_run(run1, 0) == 0, "spadit generate ... --out %s", out);
        io_video_info info;
        if (io_video_probe(out, &info, &err) == DIT_OK) {
            double fps = info.fps_den ? (double)info.fps_num / info.fps_den : 0;
            printf("mp4: codec %s, %s, %dx%d, %lld frames, %.2f fps\n", info.codec, info.pix_fmt, info.width, info.height,
                   (long long)info.frames, fps);
            CHECK(!strcmp(info.codec, "h264") && !strcmp(info.pix_fmt, "yuv420p"), "codec %s pix %s", info.codec,
                  info.pix_fmt);
            CHECK(info.frames == 5 && info.width == 64 && info.height == 48 && fabs(fps - 16) < 1e-6, "mp4 shape");
            CHECK(info.comment && strstr(info.comment, "\"prompt\":\"a red circle moves to the right\"") &&
                      strstr(info.comment, "\"seed\":7") && strstr(info.comment, "\"sampler\":\"euler\"") &&
                      strstr(info.comment, "\"method\":\"dense\""),
                  "metadata comment: %s", info.comment ? info.comment : "(none)");
            io_video_info_free(&info);
        } else {
            CHECK(0, "probe: %s", err.msg);
        }
        unlink(out);
        /* bad flags: clear errors, non-zero exit, no file */
        char *run2[] = {(char *)spadit, "generate", "x", "--model", (char *)dir, "--frames", "6", "--out", out, NULL};
        CHECK(test_run(run2, 1) == 2 && access(out, F_OK) != 0, "--frames 6 must fail (exit 2) without output");
    } else {
        printf("(CLI mp4 check skipped: %s)\n", spadit ? "built without FFmpeg" : "no spadit binary given");
    }
    dit_backend_destroy(&be);
    io_safetensors_close(&io);
    free(lat), free(ref);
    return test_summary("test_generate");
}
