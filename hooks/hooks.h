/* hooks.h — what the forward pass asks of a hook set: is this hook point wanted, and fire it. */
#ifndef HS_HOOKS_HOOKS_H
#define HS_HOOKS_HOOKS_H

#include "headscope.h"

/* Resolves every registration against the hook points of a model with n_layers layers, so that
 * hs_hooks_wanted is a table look-up during the pass. Called by hs_forward at its start. */
hs_status hs_hooks_bind(hs_hooks *hooks, int n_layers, hs_error *err);

/* Whether anyone observes or intervenes at hp (hooks may be NULL: nobody). Tensors nobody wants
 * are never copied or, when optional (hook_result), never computed. */
int hs_hooks_wanted(const hs_hooks *hooks, const hs_hook_point *hp);

/* Runs the interventions at hp on t (in place, in registration order), then the observers, then
 * the tap (below) when hp's kind is tapped. */
hs_status hs_hooks_fire(hs_hooks *hooks, const hs_hook_point *hp, hs_tensor *t, hs_error *err);

/* The forward and backward loops' way to fire: when someone wants hook `kind` of `layer`, fires it on
 * data viewed as [batch, d1, d2, d3] (the first ndim of them); otherwise does nothing. */
hs_status hs_hooks_fire_view(hs_hooks *hooks, hs_hook_kind kind, int layer, float *data, int ndim, int64_t batch,
                             int64_t d1, int64_t d2, int64_t d3, hs_error *err);

/* The library's own observer of a hook set, for the backward pass's tape (hooks/backward.c): fn is
 * called at every hook point whose kind has its bit (1 << kind) in kind_mask, after the caller's
 * interventions and observers (so it sees what the model uses), and those points count as wanted.
 * kind_mask 0 removes it. Not part of the public API: a caller's hook set gets a tap only for the
 * length of one pass. */
void hs_hooks_set_tap(hs_hooks *hooks, uint64_t kind_mask, hs_observe_fn fn, void *user);

#endif
