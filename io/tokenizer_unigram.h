/* tokenizer_unigram.h — SentencePiece unigram tokenizer read from a Hugging Face tokenizer.json.
 *
 * Reproduces HF `tokenizers` (the library diffusers and Wan's reference call
 * through transformers' T5TokenizerFast) for the files its SentencePiece
 * converters write: model "Unigram" (pieces with scores, unk_id), added tokens
 * (<pad>, </s>, <unk>, <extra_id_*>), normalizers Sequence / Precompiled
 * (nmt_nfkc charsmap) / Replace / Strip / Prepend, pre-tokenizers Sequence /
 * WhitespaceSplit / Metaspace / Split, post-processor TemplateProcessing (umT5:
 * "$A </s>").  Encoding = split out added tokens -> normalize -> pre-tokenize ->
 * Viterbi per piece -> truncate to max_ids minus the template's special tokens
 * -> apply the template.  Anything else in a file fails to load with a message
 * naming it.  See docs/tokenizer.md; tests/test_tokenizer.c requires zero
 * mismatches against HF ids on the committed goldens.
 *
 * Also here: io_prompt_clean, Wan's prompt cleaning minus ftfy.
 */
#ifndef SPADIT_TOKENIZER_UNIGRAM_H
#define SPADIT_TOKENIZER_UNIGRAM_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* int32_t */

#include "../dit/status.h" /* dit_status, dit_err */

typedef struct io_tokenizer io_tokenizer;

/* Load a tokenizer.json (model type "Unigram").  Errors name the file and the
 * JSON member: not JSON, not Unigram, missing vocab, bad base64 or charsmap,
 * unsupported component types. */
dit_status io_tok_load(const char *tokenizer_json, io_tokenizer **out, dit_err *err);
/* Same from memory; `label` stands for the file name in messages. */
dit_status io_tok_load_mem(const char *json, size_t len, const char *label, io_tokenizer **out, dit_err *err);
void io_tok_free(io_tokenizer **t);

/* Tokenize a NUL-terminated UTF-8 prompt as HF `tokenizer(text, truncation=True,
 * max_length=max_ids)`: the template's special tokens (umT5: EOS) are always
 * included, the text's own ids are cut to max_ids minus their count.  Writes
 * *n_ids <= max_ids ids.  Fails on invalid UTF-8 (naming the byte offset) and
 * when max_ids cannot hold the special tokens.  Use max_ids = 512 for Wan. */
dit_status io_tok_encode(const io_tokenizer *t, const char *utf8, int32_t *ids, int max_ids, int *n_ids,
                         dit_err *err);

/* Vocabulary size including added tokens beyond the model's pieces (HF
 * get_vocab_size(with_added_tokens=True)). */
int io_tok_vocab_size(const io_tokenizer *t);
/* Piece or added-token text of an id (NULL when out of range).  Pieces use
 * U+2581 '▁' for spaces, as stored in the file. */
const char *io_tok_piece(const io_tokenizer *t, int32_t id);
/* Id of a piece or added token, -1 when absent. */
int32_t io_tok_piece_id(const io_tokenizer *t, const char *piece);
/* The id the post-processor appends last (umT5: </s> = 1), -1 when it appends none. */
int32_t io_tok_eos_id(const io_tokenizer *t);
/* Id of "<pad>" (umT5: 0; what the text encoder pads with), -1 when absent. */
int32_t io_tok_pad_id(const io_tokenizer *t);
/* The model's unk_id (umT5: 2), -1 when the file has none. */
int32_t io_tok_unk_id(const io_tokenizer *t);
/* Number of ids the post-processor adds around the text (umT5: 1). */
int io_tok_num_special(const io_tokenizer *t);

/* Wan's prompt cleaning without ftfy (wan/modules/tokenizers.py: basic_clean,
 * whitespace_clean): HTML-unescape twice as Python's html.unescape (numeric
 * references fully; named ones from the subset in io/tok_tables.c: all legacy
 * names plus HTML 4 and common HTML 5 ones; others stay as written), then every
 * run of Python whitespace (str.isspace, includes NBSP, U+3000, U+2028,
 * U+001C..U+001F) becomes one space, and leading/trailing spaces go.
 * Writes at most cap bytes including the NUL (never splitting a UTF-8 character)
 * and returns the length the full result needs, like snprintf; out may be NULL
 * when cap is 0.  Invalid UTF-8 bytes are copied through unchanged. */
size_t io_prompt_clean(const char *in, char *out, size_t cap);

#endif
