/* video_av.c — FFmpeg encoder/decoder behind io/video.c (see video.h, video_av.h).
 * Follows FFmpeg's doc/examples encode_video.c / mux.c / demux_decode.c: the
 * send/receive loop with EAGAIN/EOF, a NULL frame to flush, av_frame_make_writable
 * before reusing the frame, packet timestamps rescaled from codec to stream time
 * base; every libav error goes into dit_err through av_strerror.
 * Checked by tests/test_video.c (codec, pixel format, frame count, fps, comment,
 * FFV1 bit-exact, H.264/VP9 PSNR). */
#include "video_av.h"

#include <libavcodec/avcodec.h>   /* avcodec_send_frame, avcodec_receive_packet */
#include <libavformat/avformat.h> /* avformat_alloc_output_context2, av_interleaved_write_frame */
#include <libavutil/imgutils.h>   /* av_image_check_size */
#include <libavutil/opt.h>        /* av_dict_set */
#include <libavutil/pixdesc.h>    /* av_get_pix_fmt_name */
#include <libswscale/swscale.h>   /* sws_getContext, sws_scale */
#include <stdio.h>                /* snprintf */
#include <stdlib.h>               /* calloc, realloc, free */
#include <string.h>               /* strdup, memcpy */

struct io_av_enc {
    char *target;
    AVFormatContext *oc;
    AVCodecContext *c;
    AVStream *st;
    AVFrame *frame;
    AVPacket *pkt;
    struct SwsContext *sws;
    int64_t next_pts;
    int width, height;
};

static dit_status av_fail(dit_err *err, dit_status code, int line, const char *path, const char *what, int ret) {
    char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
    av_strerror(ret, buf, sizeof buf);
    return dit_err_set(err, code, __FILE__, line, "%s: %s failed: %s", path, what, buf);
}
#define AV_FAIL(err, code, path, what, ret) av_fail((err), (code), __LINE__, (path), (what), (ret))

void io_av_set_quiet(int quiet) { av_log_set_level(quiet ? AV_LOG_ERROR : AV_LOG_INFO); }

void io_av_enc_free(io_av_enc **pe) {
    if (!pe || !*pe) return;
    io_av_enc *e = *pe;
    sws_freeContext(e->sws);
    av_frame_free(&e->frame);
    av_packet_free(&e->pkt);
    avcodec_free_context(&e->c);
    if (e->oc) {
        if (e->oc->pb) avio_closep(&e->oc->pb);
        avformat_free_context(e->oc);
    }
    free(e->target);
    free(e);
    *pe = NULL;
}

static const struct {
    io_video_format f;
    const char *muxer, *encoder, *ext;
    enum AVPixelFormat pix;
} k_formats[] = {
    {IO_VIDEO_MP4, "mp4", "libx264", "mp4", AV_PIX_FMT_YUV420P},
    {IO_VIDEO_MKV, "matroska", "ffv1", "mkv", AV_PIX_FMT_0RGB32}, /* bgr0: FFV1's 8-bit RGB (RCT, lossless) */
    {IO_VIDEO_WEBM, "webm", "libvpx-vp9", "webm", AV_PIX_FMT_YUV420P},
};

/* Codec options per format; returns the dictionary for avcodec_open2. */
static AVDictionary *codec_opts(io_video_format f, const io_video_opts *o) {
    AVDictionary *d = NULL;
    char crf[16];
    if (f == IO_VIDEO_MP4) {
        snprintf(crf, sizeof crf, "%d", o->crf >= 0 ? o->crf : IO_VIDEO_DEFAULT_CRF_H264);
        av_dict_set(&d, "crf", crf, 0);
        av_dict_set(&d, "preset", "medium", 0);
    } else if (f == IO_VIDEO_WEBM) {
        snprintf(crf, sizeof crf, "%d", o->crf >= 0 ? o->crf : IO_VIDEO_DEFAULT_CRF_VP9);
        av_dict_set(&d, "crf", crf, 0);
        av_dict_set(&d, "deadline", "good", 0);
        av_dict_set(&d, "cpu-used", "4", 0);
        av_dict_set(&d, "row-mt", "1", 0);
    } else {
        av_dict_set(&d, "level", "3", 0);
        av_dict_set(&d, "slicecrc", "1", 0);
    }
    return d;
}

static dit_status setup_codec(io_av_enc *e, int fi, const io_video_opts *o, dit_err *err) {
    const char *path = e->target;
    const AVCodec *codec = avcodec_find_encoder_by_name(k_formats[fi].encoder);
    if (!codec)
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "%s: this FFmpeg has no '%s' encoder (needed for .%s output)", path,
                        k_formats[fi].encoder, k_formats[fi].ext);
    if (!(e->st = avformat_new_stream(e->oc, NULL)) || !(e->c = avcodec_alloc_context3(codec)))
        return DIT_FAIL(err, DIT_ERR_OOM, "%s: FFmpeg stream/codec context", path);
    AVCodecContext *c = e->c;
    c->width = e->width;
    c->height = e->height;
    c->pix_fmt = k_formats[fi].pix;
    c->framerate = (AVRational){o->fps_num, o->fps_den};
    c->time_base = (AVRational){o->fps_den, o->fps_num};
    e->st->time_base = c->time_base;
    e->st->avg_frame_rate = c->framerate;
    if (c->pix_fmt == AV_PIX_FMT_YUV420P) { /* what we convert with below, tagged so players agree */
        c->colorspace = AVCOL_SPC_BT709;
        c->color_primaries = AVCOL_PRI_BT709;
        c->color_trc = AVCOL_TRC_BT709;
        c->color_range = AVCOL_RANGE_MPEG;
    } else {
        c->colorspace = AVCOL_SPC_RGB;
        c->color_range = AVCOL_RANGE_JPEG;
    }
    if (k_formats[fi].f == IO_VIDEO_WEBM) c->bit_rate = 0; /* constant quality */
    if (k_formats[fi].f == IO_VIDEO_MKV) c->gop_size = 1;  /* FFV1: every frame a keyframe */
    if (e->oc->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    AVDictionary *opts = codec_opts(k_formats[fi].f, o);
    int ret = avcodec_open2(c, codec, &opts);
    const AVDictionaryEntry *left = av_dict_get(opts, "", NULL, AV_DICT_IGNORE_SUFFIX);
    char leftover[64] = {0};
    if (left) snprintf(leftover, sizeof leftover, "%s", left->key);
    av_dict_free(&opts);
    if (ret < 0) {
        char what[64];
        snprintf(what, sizeof what, "opening the %s encoder", k_formats[fi].encoder);
        return AV_FAIL(err, DIT_ERR_IO, path, what, ret);
    }
    if (leftover[0])
        return DIT_FAIL(err, DIT_ERR_INTERNAL, "%s: encoder %s did not accept option '%s'", path,
                        k_formats[fi].encoder, leftover);
    if ((ret = avcodec_parameters_from_context(e->st->codecpar, c)) < 0)
        return AV_FAIL(err, DIT_ERR_INTERNAL, path, "avcodec_parameters_from_context", ret);
    if (!(e->frame = av_frame_alloc()) || !(e->pkt = av_packet_alloc()))
        return DIT_FAIL(err, DIT_ERR_OOM, "%s: frame/packet", path);
    e->frame->format = c->pix_fmt;
    e->frame->width = c->width;
    e->frame->height = c->height;
    if ((ret = av_frame_get_buffer(e->frame, 0)) < 0) return AV_FAIL(err, DIT_ERR_OOM, path, "av_frame_get_buffer", ret);
    e->sws = sws_getContext(c->width, c->height, AV_PIX_FMT_RGB24, c->width, c->height, c->pix_fmt,
                            SWS_BICUBIC | SWS_ACCURATE_RND | SWS_BITEXACT, NULL, NULL, NULL);
    if (!e->sws) return DIT_FAIL(err, DIT_ERR_INTERNAL, "%s: no swscale conversion rgb24 -> %s", path,
                                 av_get_pix_fmt_name(c->pix_fmt));
    if (c->pix_fmt == AV_PIX_FMT_YUV420P) /* full-range RGB in, BT.709 limited-range YUV out */
        sws_setColorspaceDetails(e->sws, sws_getCoefficients(SWS_CS_DEFAULT), 1, sws_getCoefficients(SWS_CS_ITU709),
                                 0, 0, 1 << 16, 1 << 16);
    return DIT_OK;
}

dit_status io_av_enc_open(const char *target, const char *tmp, io_video_format f, int width, int height,
                          const io_video_opts *o, io_av_enc **out, dit_err *err) {
    *out = NULL;
    int fi = -1;
    for (int i = 0; i < (int)(sizeof k_formats / sizeof k_formats[0]); i++)
        if (k_formats[i].f == f) fi = i;
    if (fi < 0) return DIT_FAIL(err, DIT_ERR_INTERNAL, "%s: format %d is not an FFmpeg format", target, (int)f);
    io_av_enc *e = calloc(1, sizeof *e);
    if (!e || !(e->target = strdup(target))) {
        free(e);
        return DIT_FAIL(err, DIT_ERR_OOM, "%s: encoder state", target);
    }
    e->width = width;
    e->height = height;
    int ret = avformat_alloc_output_context2(&e->oc, NULL, k_formats[fi].muxer, tmp);
    dit_status s = DIT_OK;
    if (ret < 0 || !e->oc) s = AV_FAIL(err, DIT_ERR_UNSUPPORTED, target, k_formats[fi].muxer, ret);
    if (s == DIT_OK) s = setup_codec(e, fi, o, err);
    if (s == DIT_OK && o->comment && (ret = av_dict_set(&e->oc->metadata, "comment", o->comment, 0)) < 0)
        s = AV_FAIL(err, DIT_ERR_OOM, target, "setting the comment tag", ret);
    if (s == DIT_OK && (ret = avio_open(&e->oc->pb, tmp, AVIO_FLAG_WRITE)) < 0)
        s = AV_FAIL(err, DIT_ERR_IO, target, "opening the temporary file", ret);
    if (s == DIT_OK) {
        AVDictionary *mopts = NULL;
        if (f == IO_VIDEO_MP4) av_dict_set(&mopts, "movflags", "+faststart", 0);
        ret = avformat_write_header(e->oc, &mopts);
        av_dict_free(&mopts);
        if (ret < 0) s = AV_FAIL(err, DIT_ERR_IO, target, "writing the container header", ret);
    }
    if (s != DIT_OK) {
        io_av_enc_free(&e);
        return s;
    }
    *out = e;
    return DIT_OK;
}

/* Send one frame (NULL = flush) and write every packet the encoder hands back. */
static dit_status encode(io_av_enc *e, const AVFrame *frame, dit_err *err) {
    int ret = avcodec_send_frame(e->c, frame);
    if (ret < 0) return AV_FAIL(err, DIT_ERR_IO, e->target, "sending a frame to the encoder", ret);
    for (;;) {
        ret = avcodec_receive_packet(e->c, e->pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return DIT_OK;
        if (ret < 0) return AV_FAIL(err, DIT_ERR_IO, e->target, "encoding", ret);
        av_packet_rescale_ts(e->pkt, e->c->time_base, e->st->time_base);
        e->pkt->stream_index = e->st->index;
        ret = av_interleaved_write_frame(e->oc, e->pkt); /* takes the packet's reference */
        if (ret < 0) return AV_FAIL(err, DIT_ERR_IO, e->target, "writing a packet", ret);
    }
}

dit_status io_av_enc_frame(io_av_enc *e, const uint8_t *rgb, dit_err *err) {
    int ret = av_frame_make_writable(e->frame); /* the encoder may still hold the previous one */
    if (ret < 0) return AV_FAIL(err, DIT_ERR_OOM, e->target, "av_frame_make_writable", ret);
    const uint8_t *src[4] = {rgb, NULL, NULL, NULL};
    const int stride[4] = {3 * e->width, 0, 0, 0};
    sws_scale(e->sws, src, stride, 0, e->height, e->frame->data, e->frame->linesize);
    e->frame->pts = e->next_pts++;
    return encode(e, e->frame, err);
}

dit_status io_av_enc_finish(io_av_enc *e, dit_err *err) {
    DIT_TRY(encode(e, NULL, err));
    int ret = av_write_trailer(e->oc);
    if (ret < 0) return AV_FAIL(err, DIT_ERR_IO, e->target, "writing the container trailer", ret);
    if (e->oc->pb->error < 0) return AV_FAIL(err, DIT_ERR_IO, e->target, "writing the file", e->oc->pb->error);
    if ((ret = avio_closep(&e->oc->pb)) < 0) return AV_FAIL(err, DIT_ERR_IO, e->target, "closing the file", ret);
    return DIT_OK;
}

/* ---- reading back ---- */

typedef struct av_in {
    AVFormatContext *ic;
    AVCodecContext *dc;
    int sidx;
} av_in;

static void in_close(av_in *in) {
    avcodec_free_context(&in->dc);
    avformat_close_input(&in->ic);
}

static dit_status in_open(const char *path, av_in *in, dit_err *err) {
    memset(in, 0, sizeof *in);
    int ret = avformat_open_input(&in->ic, path, NULL, NULL);
    if (ret < 0)
        return AV_FAIL(err, ret == AVERROR(ENOENT) ? DIT_ERR_MISSING : DIT_ERR_FORMAT, path, "opening the video", ret);
    const AVCodec *dec = NULL;
    if ((ret = avformat_find_stream_info(in->ic, NULL)) < 0) {
        in_close(in);
        return AV_FAIL(err, DIT_ERR_FORMAT, path, "reading stream info", ret);
    }
    if ((in->sidx = av_find_best_stream(in->ic, AVMEDIA_TYPE_VIDEO, -1, -1, &dec, 0)) < 0) {
        in_close(in);
        return AV_FAIL(err, DIT_ERR_FORMAT, path, "finding a decodable video stream", in->sidx);
    }
    if (!(in->dc = avcodec_alloc_context3(dec))) {
        in_close(in);
        return DIT_FAIL(err, DIT_ERR_OOM, "%s: decoder context", path);
    }
    if ((ret = avcodec_parameters_to_context(in->dc, in->ic->streams[in->sidx]->codecpar)) < 0 ||
        (ret = avcodec_open2(in->dc, dec, NULL)) < 0) {
        in_close(in);
        return AV_FAIL(err, DIT_ERR_FORMAT, path, "opening the decoder", ret);
    }
    return DIT_OK;
}

typedef dit_status (*frame_fn)(void *ctx, const AVFrame *f, const char *path, dit_err *err);

static dit_status drain(av_in *in, AVFrame *fr, frame_fn fn, void *ctx, const char *path, dit_err *err) {
    for (;;) {
        int ret = avcodec_receive_frame(in->dc, fr);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return DIT_OK;
        if (ret < 0) return AV_FAIL(err, DIT_ERR_FORMAT, path, "decoding", ret);
        dit_status s = fn(ctx, fr, path, err);
        av_frame_unref(fr);
        if (s != DIT_OK) return s;
    }
}

static dit_status decode_all(av_in *in, frame_fn fn, void *ctx, const char *path, dit_err *err) {
    AVPacket *pkt = av_packet_alloc();
    AVFrame *fr = av_frame_alloc();
    dit_status s = pkt && fr ? DIT_OK : DIT_FAIL(err, DIT_ERR_OOM, "%s: packet/frame", path);
    int ret = 0;
    while (s == DIT_OK && (ret = av_read_frame(in->ic, pkt)) >= 0) {
        if (pkt->stream_index == in->sidx) {
            if ((ret = avcodec_send_packet(in->dc, pkt)) < 0) s = AV_FAIL(err, DIT_ERR_FORMAT, path, "decoding", ret);
            else s = drain(in, fr, fn, ctx, path, err);
        }
        av_packet_unref(pkt);
    }
    if (s == DIT_OK && ret != AVERROR_EOF) s = AV_FAIL(err, DIT_ERR_FORMAT, path, "reading packets", ret);
    if (s == DIT_OK && (ret = avcodec_send_packet(in->dc, NULL)) < 0) /* flush */
        s = AV_FAIL(err, DIT_ERR_FORMAT, path, "flushing the decoder", ret);
    if (s == DIT_OK) s = drain(in, fr, fn, ctx, path, err);
    av_frame_free(&fr);
    av_packet_free(&pkt);
    return s;
}

static dit_status count_frame(void *ctx, const AVFrame *f, const char *path, dit_err *err) {
    (void)f, (void)path, (void)err;
    (*(int64_t *)ctx)++;
    return DIT_OK;
}

dit_status io_av_probe(const char *path, io_video_info *info, dit_err *err) {
    memset(info, 0, sizeof *info);
    av_in in;
    DIT_TRY(in_open(path, &in, err));
    const AVStream *st = in.ic->streams[in.sidx];
    const AVCodecParameters *par = st->codecpar;
    const char *pf = av_get_pix_fmt_name((enum AVPixelFormat)par->format);
    snprintf(info->container, sizeof info->container, "%s", in.ic->iformat->name);
    snprintf(info->codec, sizeof info->codec, "%s", avcodec_get_name(par->codec_id));
    snprintf(info->pix_fmt, sizeof info->pix_fmt, "%s", pf ? pf : "?");
    const char *cs = av_color_space_name(par->color_space);
    snprintf(info->color, sizeof info->color, "%s", cs ? cs : "?");
    info->width = par->width;
    info->height = par->height;
    AVRational fr = st->avg_frame_rate.num ? st->avg_frame_rate : st->r_frame_rate;
    info->fps_num = fr.num;
    info->fps_den = fr.den;
    const AVDictionaryEntry *c = av_dict_get(in.ic->metadata, "comment", NULL, 0);
    if (!c) c = av_dict_get(st->metadata, "comment", NULL, 0);
    dit_status s = DIT_OK;
    if (c && !(info->comment = strdup(c->value))) s = DIT_FAIL(err, DIT_ERR_OOM, "%s: comment", path);
    if (s == DIT_OK) s = decode_all(&in, count_frame, &info->frames, path, err);
    in_close(&in);
    if (s != DIT_OK) io_video_info_free(info);
    return s;
}

typedef struct rgb_sink {
    uint8_t *buf;
    size_t cap, used;
    int64_t n;
    int w, h;
    struct SwsContext *sws;
} rgb_sink;

static dit_status rgb_frame(void *ctx, const AVFrame *f, const char *path, dit_err *err) {
    rgb_sink *s = ctx;
    if (s->n == 0) {
        if (av_image_check_size((unsigned)f->width, (unsigned)f->height, 0, NULL) < 0)
            return DIT_FAIL(err, DIT_ERR_FORMAT, "%s: frame size %dx%d is invalid", path, f->width, f->height);
        s->w = f->width, s->h = f->height;
        s->sws = sws_getContext(f->width, f->height, (enum AVPixelFormat)f->format, f->width, f->height,
                                AV_PIX_FMT_RGB24, SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_BITEXACT,
                                NULL, NULL, NULL);
        if (!s->sws) return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "%s: no swscale conversion to rgb24", path);
        sws_setColorspaceDetails(s->sws, sws_getCoefficients(f->colorspace), f->color_range == AVCOL_RANGE_JPEG,
                                 sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
    } else if (f->width != s->w || f->height != s->h) {
        return DIT_FAIL(err, DIT_ERR_UNSUPPORTED, "%s: frame %lld is %dx%d, frame 0 was %dx%d", path, (long long)s->n,
                        f->width, f->height, s->w, s->h);
    }
    size_t fb = (size_t)s->w * (size_t)s->h * 3;
    if (s->used + fb > s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 8 * fb;
        uint8_t *nb = realloc(s->buf, nc);
        if (!nb) return DIT_FAIL(err, DIT_ERR_OOM, "%s: %zu bytes of decoded frames", path, nc);
        s->buf = nb, s->cap = nc;
    }
    uint8_t *dst[4] = {s->buf + s->used, NULL, NULL, NULL};
    int stride[4] = {3 * s->w, 0, 0, 0};
    sws_scale(s->sws, (const uint8_t *const *)f->data, f->linesize, 0, s->h, dst, stride);
    s->used += fb;
    s->n++;
    return DIT_OK;
}

dit_status io_av_read_frames(const char *path, uint8_t **rgb, int64_t *n, int *width, int *height, dit_err *err) {
    *rgb = NULL;
    *n = 0;
    av_in in;
    DIT_TRY(in_open(path, &in, err));
    rgb_sink s = {0};
    dit_status st = decode_all(&in, rgb_frame, &s, path, err);
    sws_freeContext(s.sws);
    in_close(&in);
    if (st != DIT_OK) {
        free(s.buf);
        return st;
    }
    *rgb = s.buf;
    *n = s.n;
    *width = s.w;
    *height = s.h;
    return DIT_OK;
}
