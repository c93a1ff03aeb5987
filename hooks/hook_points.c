/* hook_points.c — the table of hook points: TransformerLens names, whether each lives in a block,
 * where its head dimension is, and parsing/printing of full names like "blocks.3.attn.hook_z". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "headscope.h"

static const struct {
    const char *name; /* without the "blocks.L." prefix */
    int in_block;
    int head_dim;     /* index of the head dimension in [batch, ...] shapes, -1 if none */
} hook_table[HS_HOOK_KIND_COUNT] = {
    [HS_HOOK_EMBED] = {"hook_embed", 0, -1},
    [HS_HOOK_POS_EMBED] = {"hook_pos_embed", 0, -1},
    [HS_HOOK_RESID_PRE] = {"hook_resid_pre", 1, -1},
    [HS_HOOK_LN1_SCALE] = {"ln1.hook_scale", 1, -1},
    [HS_HOOK_LN1_NORMALIZED] = {"ln1.hook_normalized", 1, -1},
    [HS_HOOK_Q] = {"attn.hook_q", 1, 2},
    [HS_HOOK_K] = {"attn.hook_k", 1, 2},
    [HS_HOOK_V] = {"attn.hook_v", 1, 2},
    [HS_HOOK_ROT_Q] = {"attn.hook_rot_q", 1, 2},
    [HS_HOOK_ROT_K] = {"attn.hook_rot_k", 1, 2},
    [HS_HOOK_ATTN_SCORES] = {"attn.hook_attn_scores", 1, 1},
    [HS_HOOK_PATTERN] = {"attn.hook_pattern", 1, 1},
    [HS_HOOK_Z] = {"attn.hook_z", 1, 2},
    [HS_HOOK_RESULT] = {"attn.hook_result", 1, 2},
    [HS_HOOK_ATTN_OUT] = {"hook_attn_out", 1, -1},
    [HS_HOOK_RESID_MID] = {"hook_resid_mid", 1, -1},
    [HS_HOOK_LN2_SCALE] = {"ln2.hook_scale", 1, -1},
    [HS_HOOK_LN2_NORMALIZED] = {"ln2.hook_normalized", 1, -1},
    [HS_HOOK_MLP_PRE] = {"mlp.hook_pre", 1, -1},
    [HS_HOOK_MLP_PRE_LINEAR] = {"mlp.hook_pre_linear", 1, -1},
    [HS_HOOK_MLP_POST] = {"mlp.hook_post", 1, -1},
    [HS_HOOK_MLP_OUT] = {"hook_mlp_out", 1, -1},
    [HS_HOOK_RESID_POST] = {"hook_resid_post", 1, -1},
    [HS_HOOK_LN_FINAL_SCALE] = {"ln_final.hook_scale", 0, -1},
    [HS_HOOK_LN_FINAL_NORMALIZED] = {"ln_final.hook_normalized", 0, -1},
    [HS_HOOK_LOGITS] = {"unembed.hook_out", 0, -1},
    [HS_HOOK_Q_INPUT] = {"hook_q_input", 1, 2},
    [HS_HOOK_K_INPUT] = {"hook_k_input", 1, 2},
    [HS_HOOK_V_INPUT] = {"hook_v_input", 1, 2},
    [HS_HOOK_MLP_IN] = {"hook_mlp_in", 1, -1},
};

const char *hs_hook_kind_name(hs_hook_kind kind)
{
    return (unsigned)kind < HS_HOOK_KIND_COUNT ? hook_table[kind].name : "?";
}

int hs_hook_kind_in_block(hs_hook_kind kind)
{
    return (unsigned)kind < HS_HOOK_KIND_COUNT && hook_table[kind].in_block;
}

int hs_hook_kind_head_dim(hs_hook_kind kind)
{
    return (unsigned)kind < HS_HOOK_KIND_COUNT ? hook_table[kind].head_dim : -1;
}

int hs_hook_point_name(const hs_hook_point *hp, char *buf, size_t cap)
{
    if (hs_hook_kind_in_block(hp->kind))
        return snprintf(buf, cap, "blocks.%d.%s", hp->layer, hs_hook_kind_name(hp->kind));
    return snprintf(buf, cap, "%s", hs_hook_kind_name(hp->kind));
}

hs_status hs_hook_point_parse(const char *name, hs_hook_point *out, hs_error *err)
{
    const char *rest = name;
    int layer = -1;
    if (strncmp(name, "blocks.", 7) == 0) {
        char *end;
        long l = strtol(name + 7, &end, 10);
        if (end == name + 7 || *end != '.' || l < 0 || l > 100000)
            return hs_fail(err, HS_ERR_ARG, "hook name '%s': expected blocks.<layer>.<hook>", name);
        layer = (int)l;
        rest = end + 1;
    }
    for (int k = 0; k < HS_HOOK_KIND_COUNT; k++) {
        if (strcmp(rest, hook_table[k].name) != 0)
            continue;
        if (hook_table[k].in_block != (layer >= 0))
            return hs_fail(err, HS_ERR_ARG, "hook name '%s': %s %s a layer", name, hook_table[k].name,
                           hook_table[k].in_block ? "needs" : "takes no");
        out->kind = (hs_hook_kind)k;
        out->layer = layer;
        return HS_OK;
    }
    return hs_fail(err, HS_ERR_ARG, "hook name '%s': unknown hook point '%s'", name, rest);
}
