/* head_detectors.h — per-head scores of one attention pattern A [T, T] (rows = queries i,
 * columns = keys k, causal, rows sum to 1) and the prompt's tokens [T]: pure functions, no I/O.
 *
 * TransformerLens head detectors (transformer_lens.head_detector, as of TL 4.3):
 *   detection patterns D [T, T], 1 where a head of that type should attend, else 0:
 *     previous token   D[i][i-1] = 1 for i >= 1
 *     duplicate token  D[i][k] = 1 for k < i with tok[k] == tok[i] (earlier copies, not itself)
 *     induction        D[i][k] = 1 for 1 <= k <= i with tok[k-1] == tok[i] and k-1 < i (the token
 *                      after an earlier copy: the duplicate pattern shifted right by one column,
 *                      column 0 cleared)
 *   score ("mul" error measure) = sum(A' ⊙ D) / sum(A'), where A' is A with column 0 zeroed when
 *   exclude_bos and the diagonal zeroed when exclude_current_token. Both sums run over the whole
 *   matrix, so the score is the fraction of the head's (remaining) attention, pooled over all
 *   queries, that lands where D says. 0/0 (nothing left after the exclusions) is NaN, as in TL.
 *   Over several prompts TL averages the per-prompt scores with an unweighted mean.
 *
 * Retrieval heads (RazorAttention) on repeated blocks: tokens [offset, offset + copies*L) are
 * `copies` copies of one block of L tokens (e.g. BOS + 4 copies). Over the queries i whose previous
 * copy exists (offset + L <= i < offset + copies*L):
 *   echo      = mean A[i][i-L]     (attention to the same token one copy back)
 *   induction = mean A[i][i-L+1]   (attention to the token that followed it)
 *
 * Attention distance (local vs global heads): mean over queries i of sum_k A[i][k] * (i - k), in
 * tokens: 0 for a head that attends to itself, 1 for a previous-token head, i for a head on the
 * first token (so its mean is (T-1)/2). Entropy: mean over queries of -sum_k A[i][k] ln A[i][k]
 * (nats; 0 for one-hot rows, ln(i+1) for uniform ones).
 *
 * `row_kept` [T] (NULL: all) marks the query rows present; absent rows are left out of every sum
 * and mean (patterns stored for some positions only). */
#ifndef HS_ANALYSES_HEADS_HEAD_DETECTORS_H
#define HS_ANALYSES_HEADS_HEAD_DETECTORS_H

#include <stdint.h>

/* Fill D [T, T] (caller-allocated) with a TransformerLens detection pattern. */
void hs_detect_previous_token(int T, float *D);
void hs_detect_duplicate_token(const int32_t *ids /* [T] */, int T, float *D);
void hs_detect_induction(const int32_t *ids /* [T] */, int T, float *D);

typedef struct hs_detect_options {
    int exclude_bos;            /* drop attention to position 0 */
    int exclude_current_token;  /* drop attention of each query to itself */
} hs_detect_options;

/* TransformerLens "mul" score of A [T, T] against D [T, T]; NaN when no attention is left. */
double hs_detect_score_mul(const float *A, const float *D, int T, const unsigned char *row_kept,
                           const hs_detect_options *opt);

/* RazorAttention echo and induction scores of A [T, T] on `copies` copies of a block of block_len
 * tokens starting at `offset`. NaN when no query qualifies (copies < 2, or its rows are absent). */
void hs_retrieval_scores(const float *A, int T, int offset, int block_len, int copies,
                         const unsigned char *row_kept, double *echo, double *induction);

/* Mean attention distance of A [T, T] in tokens (NaN when no row is kept). */
double hs_attention_distance(const float *A, int T, const unsigned char *row_kept);

/* Mean row entropy of A [T, T] in nats (NaN when no row is kept). */
double hs_attention_entropy(const float *A, int T, const unsigned char *row_kept);

#endif
