/* test_signals.c — SIGINT / SIGTERM while an output is being written (issue 14): the process dies
 * of the signal (the exit status says which), its temp files are removed by the handler that
 * io_tmp_cleanup_on_signals installs, and an existing target keeps its old bytes.  Each case runs
 * in a forked child that raises the signal on itself mid-write. */
#include <dirent.h>   /* opendir */
#include <signal.h>   /* raise, SIGINT */
#include <sys/wait.h> /* waitpid */
#include <unistd.h>   /* fork, _exit */

#include "../io/atomic_file.h"       /* io_tmp_* */
#include "../io/json_file.h"         /* io_file_read_all */
#include "../io/safetensors_write.h" /* io_safetensors_write */
#include "../io/video.h"             /* io_video_* */
#include "test_util.h"

static char g_dir[256];

/* Entries of g_dir other than . and .. whose name starts with a dot (the temp files). */
static int temp_files(void) {
    DIR *d = opendir(g_dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

static void write_text(const char *path, const char *s) {
    FILE *f = fopen(path, "wb");
    if (f) fputs(s, f), fclose(f);
}

static int holds(const char *path, const char *s) {
    char *buf = NULL;
    dit_err err = {0};
    int ok = io_file_read_all(path, &buf, NULL, &err) == DIT_OK && !strcmp(buf, s);
    free(buf);
    return ok;
}

/* Run fn in a child; return its wait status. */
static int in_child(void (*fn)(int sig), int sig) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        io_tmp_cleanup_on_signals();
        fn(sig);
        _exit(0); /* the signal did not kill us */
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return st;
}

static void bare_temp(int sig) { /* a temp file created, never committed */
    char tmp[512], target[400];
    dit_err err = {0};
    snprintf(target, sizeof target, "%s/bare.bin", g_dir);
    if (io_tmp_create(target, tmp, sizeof tmp, &err) != DIT_OK || io_tmp_live() != 1) _exit(3);
    raise(sig);
}

static void video_midway(int sig) { /* a video writer with frames written, not closed */
    char target[400];
    snprintf(target, sizeof target, "%s/clip.%s", g_dir, io_video_have_ffmpeg() ? "mkv" : "png");
    uint8_t frame[32 * 16 * 3];
    memset(frame, 90, sizeof frame);
    io_video_opts o = io_video_opts_default();
    io_video_writer *w = NULL;
    dit_err err = {0};
    if (io_video_open(target, 32, 16, &o, &w, &err) != DIT_OK) _exit(3);
    for (int i = 0; i < 3; i++)
        if (io_video_write_frame(w, frame, &err) != DIT_OK) _exit(3);
    raise(sig);
}

static void ignored_hup(int sig) { /* nohup: an ignored signal stays ignored */
    (void)sig;
    char tmp[512], target[400];
    dit_err err = {0};
    snprintf(target, sizeof target, "%s/hup.bin", g_dir);
    if (io_tmp_create(target, tmp, sizeof tmp, &err) != DIT_OK) _exit(3);
    raise(SIGHUP); /* ignored: we go on and discard it ourselves */
    io_tmp_discard(tmp);
    _exit(io_tmp_live() == 0 ? 0 : 4);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/spadit_test_signals_%d", (int)getpid());
    dit_err err = {0};
    if (io_mkdir_p(g_dir, &err) != DIT_OK) {
        printf("%s\n", err.msg);
        return 1;
    }
    int st = in_child(bare_temp, SIGINT);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT, "bare temp: status %d", st);
    CHECK(temp_files() == 0, "bare temp: %d temp files left after SIGINT", temp_files());

    char target[400];
    snprintf(target, sizeof target, "%s/clip.%s", g_dir, io_video_have_ffmpeg() ? "mkv" : "png");
    write_text(target, "old video");
    st = in_child(video_midway, SIGTERM);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "video: status %d", st);
    CHECK(temp_files() == 0, "video: %d temp files left after SIGTERM", temp_files());
    CHECK(holds(target, "old video"), "video: the existing %s changed", target);
    st = in_child(video_midway, SIGINT);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT && temp_files() == 0 && holds(target, "old video"),
          "video SIGINT: status %d, %d temp files", st, temp_files());

    signal(SIGHUP, SIG_IGN); /* inherited by the child before it installs the handlers */
    st = in_child(ignored_hup, SIGHUP);
    signal(SIGHUP, SIG_DFL);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "ignored SIGHUP: status %d", st);

    /* the registry follows commit and discard: nothing stays live after normal writes */
    float v[4] = {1, 2, 3, 4};
    int64_t shp[1] = {4};
    io_st_out t = io_st_out_f32("x", IO_ST_F32, v, 1, shp);
    char lat[400];
    snprintf(lat, sizeof lat, "%s/l.safetensors", g_dir);
    CHECK(io_safetensors_write(lat, &t, 1, NULL, 0, &err) == DIT_OK && io_tmp_live() == 0 && temp_files() == 0,
          "safetensors write: %d live, %s", io_tmp_live(), err.msg);
    char missing[400];
    snprintf(missing, sizeof missing, "%s/nowhere/l.safetensors", g_dir);
    CHECK(io_safetensors_write(missing, &t, 1, NULL, 0, &err) != DIT_OK && io_tmp_live() == 0, "failed write: %d live",
          io_tmp_live());
    /* io_same_file: the --save-latent / --out check */
    char a[400], b[400];
    snprintf(a, sizeof a, "%s/same.mp4", g_dir);
    snprintf(b, sizeof b, "%s/./same.mp4", g_dir);
    CHECK(io_same_file(a, b) && !io_same_file(a, lat), "io_same_file before the file exists");
    write_text(a, "x");
    snprintf(b, sizeof b, "%s/link.mp4", g_dir);
    CHECK(link(a, b) == 0 && io_same_file(a, b), "io_same_file on a hard link");

    unlink(a), unlink(b), unlink(lat), unlink(target);
    char side[420];
    snprintf(side, sizeof side, "%s.json", target);
    unlink(side);
    CHECK(rmdir(g_dir) == 0, "%s holds leftovers", g_dir);
    return test_summary("test_signals");
}
