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

/* Runs the interventions at hp on t (in place, in registration order), then the observers. */
hs_status hs_hooks_fire(hs_hooks *hooks, const hs_hook_point *hp, hs_tensor *t, hs_error *err);

#endif
