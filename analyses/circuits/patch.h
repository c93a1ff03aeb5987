/* patch.h — activation patching of one clean/corrupted prompt pair: which components can be
 * patched, the caches a patch reads from, and the batched patched passes that give, per grid cell,
 * the patched logit difference and KL at the last position. The store-level analysis
 * (analyses/circuits/patch_run.h) averages these over a prompt set and normalises them.
 *
 * Semantics are TransformerLens's transformer_lens.patching: a cell replaces one slice of one hook
 * of one layer, in the run of the base input (the corrupted prompt when denoising, the clean one
 * when noising), with the same slice of a source cache (the other run's activations, their mean over
 * a prompt set, another prompt's, or zeros), and runs the rest of the model unchanged:
 *   z, q, k, v    blocks.L.attn.hook_{z,q,k,v}, one head at every position (get_act_patch_attn_head_
 *                 *_all_pos); k and v have n_kv_heads heads (grouped-query models index the kv head
 *                 itself, the heads that share it are all patched with it); with per_position one
 *                 head at one position ([layer, head, pos], get_act_patch_attn_head_out_by_pos)
 *   attn_out,     blocks.L.hook_attn_out / hook_mlp_out, the whole layer output at every position
 *   mlp_out       ([layer]); with per_position one position ([layer, pos], get_act_patch_attn_out)
 *   resid_pre     blocks.L.hook_resid_pre at one position, always ([layer, pos], get_act_patch_resid_pre)
 * Cells are batched: every cell of one layer (chunked to bound the logits buffer) is one row of a
 * single forward pass whose custom intervention patches row b's own cell. */
#ifndef HS_ANALYSES_CIRCUITS_PATCH_H
#define HS_ANALYSES_CIRCUITS_PATCH_H

#include <stdint.h>

#include "headscope.h"

typedef enum hs_patch_component {
    HS_PATCH_Z,
    HS_PATCH_Q,
    HS_PATCH_K,
    HS_PATCH_V,
    HS_PATCH_ATTN_OUT,
    HS_PATCH_MLP_OUT,
    HS_PATCH_RESID_PRE,
    HS_PATCH_COMPONENT_COUNT
} hs_patch_component;

/* "z", "q", ..., "resid_pre"; parse returns -1 for an unknown name. */
const char *hs_patch_component_name(hs_patch_component c);
int hs_patch_component_parse(const char *name);
/* The hook a component patches (HS_HOOK_Z for z, ..., HS_HOOK_RESID_PRE). */
hs_hook_kind hs_patch_component_hook(hs_patch_component c);
/* 1 for the components with a head dimension (z, q, k, v). */
int hs_patch_component_has_heads(hs_patch_component c);

/* A grid's shape for a model and prompt length: n_layers x n_units x n_pos_cells, where n_units is
 * the component's heads (n_heads for z and q, n_kv_heads for k and v) or 1, and n_pos_cells is n_pos
 * when patching per position (always for resid_pre) or 1. Cell index:
 * (layer * n_units + unit) * n_pos_cells + pos. */
typedef struct hs_patch_grid_shape {
    int n_layers, n_units, n_pos_cells;
    int per_position;
    int width;       /* floats per position of the hook: n_units * unit_width */
    int unit_width;  /* d_head, or d_model for the layer-level components */
} hs_patch_grid_shape;

hs_status hs_patch_grid_shape_of(const hs_model *m, hs_patch_component c, int per_position, int n_pos,
                                 hs_patch_grid_shape *out, hs_error *err);
static inline int hs_patch_grid_cells(const hs_patch_grid_shape *g)
{
    return g->n_layers * g->n_units * g->n_pos_cells;
}

/* One run's activations of one component at every layer: data [n_layers, n_pos, width]. */
typedef struct hs_patch_cache {
    int n_layers, n_pos, width;
    float *data;
} hs_patch_cache;

void hs_patch_cache_free(hs_patch_cache *c); /* frees data; the struct itself is the caller's */

/* One observed pass over ids [n]: for every component with want[c] set, caches[c] receives its
 * activations (data malloc'd; free with hs_patch_cache_free); last_logits [d_vocab] (may be NULL)
 * the logits at the last position. On failure nothing is left allocated. */
hs_status hs_patch_capture(const hs_model *m, const int32_t *ids, int n, const int want[HS_PATCH_COMPONENT_COUNT],
                           hs_patch_cache caches[HS_PATCH_COMPONENT_COUNT], float *last_logits, hs_error *err);

/* What a patched pass is scored by, at the last position: logit(answer) - logit(wrong), and
 * KL(P_clean || P_patched) in nats from the clean run's log-probabilities. */
typedef struct hs_patch_target {
    int32_t answer, wrong;
    const double *clean_logp; /* [d_vocab]; NULL: no KL */
} hs_patch_target;

/* Runs every cell of component c on the base input ids [n], each cell's slice replaced by the same
 * slice of src (NULL: zeros), and writes ld[cells] and kl[cells] (kl may be NULL) in cell order.
 * src must be a cache of this component for a prompt of n positions. */
hs_status hs_patch_cells(const hs_model *m, hs_patch_component c, int per_position, const int32_t *ids, int n,
                         const hs_patch_cache *src, const hs_patch_target *tg, double *ld, double *kl,
                         hs_error *err);

/* log-softmax of logits [n] into out [n], in double. */
void hs_patch_log_softmax(const float *logits, int n, double *out);

#endif
