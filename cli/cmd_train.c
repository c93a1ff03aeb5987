/* cmd_train.c — `headscope train --corpus FILE --out DIR [options]`: trains a GPT-2-architecture
 * model from scratch on a text file and writes a checkpoint that every other command opens, with
 * its training log (train_log.csv) and loss curve (loss.svg, loss.png). */
#include <cblas.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/out_folder.h"
#include "cli/commands.h"
#include "train/adamw.h"
#include "train/checkpoint.h"
#include "train/gpt2_train.h"
#include "train/schedule.h"
#include "train/train_state.h"
#include "train/trainer.h"
#include "viz/lineplot.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: headscope train --corpus FILE --out DIR [--tokenizer tokenizer.json]\n"
            "       [--layers 4] [--d-model 128] [--heads 4] [--ctx 128] [--batch 8] [--steps 1000]\n"
            "       [--lr 1e-3] [--min-lr LR/10] [--warmup STEPS/20] [--weight-decay 0.1] [--clip 1.0]\n"
            "       [--seed 0] [--eval-every STEPS/10] [--val-fraction 0.1] [--threads N] [--stop-after N]\n"
            "       [--save-every N] [--force]\n"
            "       headscope train --resume DIR --corpus FILE --out DIR [--steps N] [options]\n"
            "       headscope train --init MODEL --corpus FILE --out DIR [options]\n"
            "Trains a GPT-2 (pre-LayerNorm blocks, GELU, tied unembedding) from scratch on a UTF-8 text\n"
            "file, read whole as one stream (JSONL prompt sets are not read), tokenised with the given\n"
            "Hugging Face tokenizer (tokenizer.json or a directory of tokenizer files), or byte by byte\n"
            "when none is given (vocabulary 257: 256 bytes and <|endoftext|>). The last --val-fraction of\n"
            "the tokens is held out for the validation loss. Batches are random windows of --ctx tokens;\n"
            "AdamW (betas 0.9, 0.95; no decay on biases and norm gains), linear warmup then cosine decay to\n"
            "--min-lr, global gradient-norm clipping.\n"
            "Writes DIR/config.json, model.safetensors and the tokenizer (a checkpoint every command opens),\n"
            "DIR/train_log.csv (step, lr, loss, val_loss, tokens_per_s), DIR/loss.svg and loss.png, and the\n"
            "optimizer state (optimizer.safetensors, train_state.json), at the end and every --save-every\n"
            "steps. --stop-after N stops after step N\n"
            "of --steps; --resume DIR continues a saved run on the same corpus with its settings and exactly\n"
            "the batches the uninterrupted run would have drawn, on its learning-rate schedule (its --steps,\n"
            "--lr, --min-lr and --warmup are kept: other values are refused; --weight-decay, --clip and\n"
            "--eval-every may be changed). --init MODEL starts a new run (fresh optimizer and schedule)\n"
            "from a trained gpt2 model's weights, shape and tokenizer: fine-tuning, or training on after a\n"
            "run's schedule has ended.\n"
            "DIR must be new or empty, or the --resume DIR itself: a folder holding anything else (another\n"
            "model, someone's files) is refused unless --force is given, which writes the model into it.\n"
            "When the corpus separates documents with the tokenizer's <|endoftext|>, DIR/tokenizer_config.json\n"
            "says prompts begin with it (add_bos_token), and headscope's commands prepend it.\n"
            "--threads N runs each step on N threads, each with a share of the batch and single-threaded\n"
            "BLAS (default: the online CPUs, at most --batch); results are reproducible for a given seed\n"
            "and thread count, and for the BLAS kernels: on a CPU OpenBLAS cannot name, headscope picks its\n"
            "SkylakeX (AVX-512) or Haswell (AVX2) kernels (backend/blas_kernels.h) unless OPENBLAS_CORETYPE is set.\n");
}

/* Reads a whole file into a malloc'd buffer; prints why not. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "headscope train: --corpus %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t cap = 0, n = 0, r;
    do {
        if (n + 65536 > cap) {
            cap = cap ? 2 * cap : 1 << 20;
            char *nb = realloc(buf, cap);
            if (!nb) {
                fprintf(stderr, "headscope train: --corpus %s: out of memory\n", path);
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        r = fread(buf + n, 1, cap - n, f);
        n += r;
    } while (r > 0);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "headscope train: --corpus %s: read error\n", path);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

/* Everything a save needs: the checkpoint, the optimizer state and the log so far. */
typedef struct saver {
    hs_train_model *tm;
    hs_adamw *opt;
    const char *out, *tok_path;
    int32_t bos, eos;
    int add_bos; /* the corpus separates documents with bos: prompts should begin with it */
    hs_train_state ts; /* the run's settings; step is set per save */
} saver;

static int write_log(const char *dir, const hs_train_record *recs, long steps);
static int write_plot(const char *dir, const hs_train_record *recs, long steps);

/* Writes DIR after `done` steps; prints why not and returns 1 on failure. */
static int save_all(saver *sv, const hs_train_record *recs, long done)
{
    hs_error err = {0};
    sv->ts.step = done;
    if (hs_train_save(sv->tm, sv->out, sv->tok_path, sv->bos, sv->eos, sv->add_bos, &err) != HS_OK ||
        hs_train_state_save(sv->out, &sv->ts, sv->opt, &err) != HS_OK)
        return cli_fail("train", &err);
    return write_log(sv->out, recs, done) || write_plot(sv->out, recs, done);
}

typedef struct progress {
    saver *sv;
    long save_every;       /* save every N steps (0: at the end only) */
    int save_failed;
    hs_train_record *recs; /* [steps] */
    long steps, every;
    long stop_after;       /* stop when this many steps are done (0: run to the end) */
    double tokens_per_step;
    int tty;
} progress;

static int on_step(const hs_train_record *r, void *user)
{
    progress *p = user;
    p->recs[r->step] = *r;
    long done = r->step + 1;
    /* at this run's rate (a resumed run's elapsed time starts at its first step) */
    double eta = r->tokens_per_s > 0 ? (double)(p->steps - done) * p->tokens_per_step / r->tokens_per_s : 0;
    char val[32] = "";
    if (!isnan(r->val_loss))
        snprintf(val, sizeof val, "  val %.4f", r->val_loss);
    if (p->tty) {
        fprintf(stderr, "\rstep %ld/%ld  loss %.4f%s  lr %.2e  %.0f tok/s  ETA %.0fs   ", done, p->steps, r->loss,
                val, r->lr, r->tokens_per_s, eta);
        if (done == p->steps || val[0])
            fputc('\n', stderr);
    } else if (done % p->every == 0 || done == p->steps || val[0]) {
        fprintf(stderr, "step %ld/%ld  loss %.4f%s  lr %.2e  %.0f tok/s  ETA %.0fs\n", done, p->steps, r->loss, val,
                r->lr, r->tokens_per_s, eta);
    }
    if (p->tty && done == p->stop_after && done != p->steps && !val[0])
        fputc('\n', stderr);
    if (p->save_every > 0 && done % p->save_every == 0 && done != p->steps && done != p->stop_after) {
        if (p->tty && !val[0])
            fputc('\n', stderr);
        if (save_all(p->sv, p->recs, done)) {
            p->save_failed = 1;
            return 1;
        }
        fprintf(stderr, "headscope train: saved %s at step %ld\n", p->sv->out, done);
    }
    return done == p->stop_after;
}

static int write_log(const char *dir, const hs_train_record *recs, long steps)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/train_log.csv", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "headscope train: %s: %s\n", path, strerror(errno));
        return 1;
    }
    fprintf(f, "step,lr,loss,val_loss,tokens_per_s\n");
    for (long i = 0; i < steps; i++) {
        fprintf(f, "%ld,%.6g,%.6f,", recs[i].step, recs[i].lr, recs[i].loss);
        if (!isnan(recs[i].val_loss))
            fprintf(f, "%.6f", recs[i].val_loss);
        fprintf(f, ",%.1f\n", recs[i].tokens_per_s);
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "headscope train: %s: write failed\n", path);
        return 1;
    }
    return 0;
}

/* The loss curve: one point per bucket of steps, the bucket a round size (1, 2, 5, 10, 20, ... steps)
 * that leaves at most 200 buckets, each point the mean training loss of its bucket and the last
 * validation loss measured in it, labelled with the bucket's last step; a first, empty point at step 0
 * puts the axis labels on round steps. Validation points are joined by straight lines (interpolated
 * between evaluations; a gap before the first). */
static int write_plot(const char *dir, const hs_train_record *recs, long steps)
{
    static const int mantissa[3] = {1, 2, 5};
    long b = 0; /* bucket size: the smallest of 1, 2, 5, 10, 20, ... giving at most 200 buckets */
    for (long k = 1; !b; k *= 10)
        for (int m = 0; m < 3 && !b; m++)
            if ((steps + k * mantissa[m] - 1) / (k * mantissa[m]) <= 200)
                b = k * mantissa[m];
    int n = (int)((steps + b - 1) / b) + 1;
    float *tr = malloc((size_t)n * sizeof *tr), *va = malloc((size_t)n * sizeof *va);
    char (*lab)[24] = malloc((size_t)n * 24);
    const char **labels = malloc((size_t)n * sizeof *labels);
    hs_lineplot *p = NULL;
    hs_error err = {0};
    int status = 1;
    if (!tr || !va || !lab || !labels) {
        fprintf(stderr, "headscope train: out of memory\n");
        goto done;
    }
    tr[0] = va[0] = NAN;
    snprintf(lab[0], 24, "0");
    labels[0] = lab[0];
    for (int i = 1; i < n; i++) {
        long lo = b * (i - 1), hi = b * i < steps ? b * i : steps;
        double s = 0;
        va[i] = NAN;
        for (long j = lo; j < hi; j++) {
            s += recs[j].loss;
            if (!isnan(recs[j].val_loss))
                va[i] = recs[j].val_loss;
        }
        tr[i] = (float)(s / (double)(hi - lo));
        snprintf(lab[i], 24, "%ld", hi);
        labels[i] = lab[i];
    }
    for (int i = 0, prev = -1; i < n; i++) {
        if (isnan(va[i]))
            continue;
        for (int j = prev + 1; prev >= 0 && j < i; j++)
            va[j] = va[prev] + (va[i] - va[prev]) * (float)(j - prev) / (float)(i - prev);
        prev = i;
    }
    char path[4096];
    if (hs_lineplot_create(n, &p, &err) != HS_OK || hs_lineplot_add_series(p, "training loss", tr, &err) != HS_OK ||
        hs_lineplot_add_series(p, "validation loss", va, &err) != HS_OK ||
        hs_lineplot_set_x_labels(p, labels, 0, &err) != HS_OK ||
        hs_lineplot_set_title(p, "Training loss", &err) != HS_OK ||
        hs_lineplot_set_axis_labels(p, "step", "cross-entropy (nats/token)", &err) != HS_OK) {
        status = cli_fail("train", &err);
        goto done;
    }
    snprintf(path, sizeof path, "%s/loss.svg", dir);
    if (hs_lineplot_write(p, path, HS_VIZ_SVG, &err) != HS_OK) {
        status = cli_fail("train", &err);
        goto done;
    }
    snprintf(path, sizeof path, "%s/loss.png", dir);
    if (hs_lineplot_write(p, path, HS_VIZ_PNG, &err) != HS_OK) {
        status = cli_fail("train", &err);
        goto done;
    }
    status = 0;
done:
    hs_lineplot_free(p);
    free(tr);
    free(va);
    free(lab);
    free(labels);
    return status;
}

/* Parses a number for option `name`; prints and returns 0 when it is not one in [lo, hi]. */
static int parse_num(const char *name, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !(v >= lo && v <= hi)) {
        fprintf(stderr, "headscope train: --%s '%s' is not a number in [%g, %g]\n", name, s, lo, hi);
        return 0;
    }
    *out = v;
    return 1;
}

/* Reads the rows of a previous run's train_log.csv before step `before` into recs [before]
 * (rows it lacks stay NaN). Missing or unreadable: a note, not an error. */
static void read_old_log(const char *dir, hs_train_record *recs, long before)
{
    for (long i = 0; i < before; i++)
        recs[i] = (hs_train_record){.step = i, .lr = NAN, .loss = NAN, .val_loss = NAN};
    char path[4096], line[256];
    snprintf(path, sizeof path, "%s/train_log.csv", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "headscope train: note: %s: %s; the log starts at step %ld\n", path, strerror(errno), before);
        return;
    }
    while (fgets(line, sizeof line, f)) {
        long step;
        float lr, loss, val = NAN;
        double tps = 0;
        char *p = line;
        if (sscanf(p, "%ld,%f,%f,", &step, &lr, &loss) != 3 || step < 0 || step >= before)
            continue;
        for (int commas = 0; *p && commas < 3; p++)
            commas += *p == ',';
        if (*p != ',')
            val = strtof(p, NULL);
        char *q = strchr(p, ',');
        if (q)
            tps = strtod(q + 1, NULL);
        recs[step] = (hs_train_record){.step = step, .lr = lr, .loss = loss, .val_loss = val, .tokens_per_s = tps};
    }
    fclose(f);
}

/* The schedule in words: "warmup 15 steps to lr 1.00e-03, cosine decay to 1.00e-04 at step 300". */
static void describe_schedule(char *buf, size_t cap, long steps, long warmup, double lr, double min_lr)
{
    if (warmup > 0)
        snprintf(buf, cap, "warmup %ld steps to lr %.2e, cosine decay to %.2e at step %ld", warmup, lr, min_lr, steps);
    else
        snprintf(buf, cap, "lr %.2e, cosine decay to %.2e at step %ld", lr, min_lr, steps);
}

/* An option not given is NaN until a saved run or the default fills it. */
static void fill(double *v, double with)
{
    if (isnan(*v))
        *v = with;
}

int cmd_train(int argc, char **argv)
{
    const char *corpus = NULL, *out = NULL, *tok_path = NULL, *resume = NULL, *init = NULL;
    int force = 0;
    double layers = NAN, d_model = NAN, heads = NAN, ctx = NAN, batch = NAN, steps = NAN, lr = NAN, min_lr = NAN,
           warmup = NAN, wd = NAN, clip = NAN, seed = NAN, eval_every = NAN, val_frac = NAN, threads = 0,
           stop_after = 0, save_every = 0;
    static const struct option opts[] = {
        {"corpus", required_argument, 0, 'c'},       {"out", required_argument, 0, 'o'},
        {"tokenizer", required_argument, 0, 't'},    {"layers", required_argument, 0, 'L'},
        {"d-model", required_argument, 0, 'D'},      {"heads", required_argument, 0, 'H'},
        {"ctx", required_argument, 0, 'T'},          {"batch", required_argument, 0, 'B'},
        {"steps", required_argument, 0, 'S'},        {"lr", required_argument, 0, 'r'},
        {"min-lr", required_argument, 0, 'm'},       {"warmup", required_argument, 0, 'w'},
        {"weight-decay", required_argument, 0, 'd'}, {"clip", required_argument, 0, 'C'},
        {"seed", required_argument, 0, 's'},         {"eval-every", required_argument, 0, 'e'},
        {"val-fraction", required_argument, 0, 'v'}, {"threads", required_argument, 0, 'j'},
        {"resume", required_argument, 0, 'R'},       {"stop-after", required_argument, 0, 'x'},
        {"save-every", required_argument, 0, 'E'},   {"init", required_argument, 0, 'I'},
        {"force", no_argument, 0, 'F'},              {"help", no_argument, 0, 'h'},
        {0}};
    int c, idx;
    while ((c = cli_getopt_long(argc, argv, "h", opts, &idx)) != -1) {
        int ok = 1;
        switch (c) {
        case 'c': corpus = optarg; break;
        case 'o': out = optarg; break;
        case 't': tok_path = optarg; break;
        case 'R': resume = optarg; break;
        case 'I': init = optarg; break;
        case 'F': force = 1; break;
        case 'L': ok = parse_num("layers", optarg, 1, 64, &layers); break;
        case 'D': ok = parse_num("d-model", optarg, 1, 8192, &d_model); break;
        case 'H': ok = parse_num("heads", optarg, 1, 1024, &heads); break;
        case 'T': ok = parse_num("ctx", optarg, 2, 65536, &ctx); break;
        case 'B': ok = parse_num("batch", optarg, 1, 65536, &batch); break;
        case 'S': ok = parse_num("steps", optarg, 1, 1e9, &steps); break;
        case 'r': ok = parse_num("lr", optarg, 0, 10, &lr); break;
        case 'm': ok = parse_num("min-lr", optarg, 0, 10, &min_lr); break;
        case 'w': ok = parse_num("warmup", optarg, 0, 1e9, &warmup); break;
        case 'd': ok = parse_num("weight-decay", optarg, 0, 10, &wd); break;
        case 'C': ok = parse_num("clip", optarg, 0, 1e9, &clip); break;
        case 's': ok = parse_num("seed", optarg, 0, 1.8e19, &seed); break;
        case 'e': ok = parse_num("eval-every", optarg, 0, 1e9, &eval_every); break;
        case 'v': ok = parse_num("val-fraction", optarg, 0, 0.5, &val_frac); break;
        case 'j': ok = parse_num("threads", optarg, 1, 1024, &threads); break;
        case 'x': ok = parse_num("stop-after", optarg, 1, 1e9, &stop_after); break;
        case 'E': ok = parse_num("save-every", optarg, 0, 1e9, &save_every); break;
        case 'h': usage(stdout); return 0;
        default: return 2;
        }
        if (!ok)
            return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "headscope train: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!corpus || !out) {
        fprintf(stderr, "headscope train: --corpus FILE and --out DIR are required (--help for all options)\n");
        return 2;
    }
    if (resume && init) {
        fprintf(stderr, "headscope train: --resume continues a run, --init starts one from a model: give one\n");
        return 2;
    }
    if (init && (!isnan(layers) || !isnan(d_model) || !isnan(heads))) {
        fprintf(stderr, "headscope train: --init %s: the shape comes from the model (no --layers, --d-model, --heads)\n",
                init);
        return 2;
    }
    if (resume) {
        const char *fixed[] = {"layers", "d-model", "heads", "ctx", "batch", "tokenizer", "seed", "val-fraction"};
        double given[] = {layers, d_model, heads, ctx, batch, tok_path ? 0 : NAN, seed, val_frac};
        for (int i = 0; i < 8; i++)
            if (!isnan(given[i])) {
                fprintf(stderr, "headscope train: --%s cannot change on --resume (the saved run's is kept)\n",
                        fixed[i]);
                return 2;
            }
    }

    hs_error err = {0};
    /* before anything is read: the output folder is new, empty or this run's own (--resume into it);
     * a model there, the demo's or a run of hours, is only replaced when the user says so */
    hs_out_folder_kind out_kind;
    if (hs_out_folder_inspect(out, NULL, &out_kind, &err) != HS_OK) {
        fprintf(stderr, "headscope train: --out %s\n", err.msg);
        return 1;
    }
    if (out_kind == HS_OUT_FOLDER_OTHER && !force && !(resume && hs_out_folder_same(resume, out))) {
        char probe[4200];
        snprintf(probe, sizeof probe, "%s/train_state.json", out);
        int is_run = access(probe, F_OK) == 0;
        snprintf(probe, sizeof probe, "%s/config.json", out);
        int is_model = access(probe, F_OK) == 0;
        if (is_run)
            fprintf(stderr, "headscope train: --out %s holds a training run (train_state.json): continue it with "
                            "--resume %s --out %s, choose another --out, or give --force to overwrite it\n",
                    out, out, out);
        else
            fprintf(stderr, "headscope train: --out %s is not empty: it holds %s; choose another --out, empty it, "
                            "or give --force to write the model into it\n",
                    out, is_model ? "a model (config.json)" : "files that are not a model");
        return 1;
    }

    int status = 1;
    hs_tokenizer *tok = NULL;
    hs_model *m = NULL;
    char *text = NULL;
    int32_t *ids = NULL;
    size_t n_text = 0, n_ids = 0;
    hs_train_model *tm = NULL;
    hs_adamw *opt = NULL;
    progress pg = {0};
    hs_gpt2_dims dims;
    hs_train_state saved = {0};
    int byte_tokens = 1;
    hs_adamw_opts ao = {0.9f, 0.95f, 1e-8f, 0.1f};
    if (resume) {
        if (hs_model_open(resume, NULL, &m, &err) != HS_OK || hs_train_dims_of_model(m, &dims, &err) != HS_OK) {
            fprintf(stderr, "headscope train: --resume %s: %s\n", resume, err.msg);
            goto done;
        }
        if (hs_adamw_new(&dims, &ao, &opt, &err) != HS_OK || hs_train_state_load(resume, &saved, opt, &err) != HS_OK) {
            fprintf(stderr, "headscope train: --resume %s: %s\n", resume, err.msg);
            goto done;
        }
        /* the schedule is the saved run's: other values would put the run on another curve mid-way
         * (a longer --steps re-stretches the cosine, and the rate climbs back up from where it was) */
        char sched[160];
        describe_schedule(sched, sizeof sched, saved.steps, saved.warmup, saved.lr, saved.min_lr);
        const char *sched_names[] = {"steps", "lr", "min-lr", "warmup"};
        double sched_given[] = {steps, lr, min_lr, warmup};
        int differs[] = {steps != (double)saved.steps, (float)lr != saved.lr, (float)min_lr != saved.min_lr,
                         warmup != (double)saved.warmup};
        for (int i = 0; i < 4; i++)
            if (!isnan(sched_given[i]) && differs[i]) {
                fprintf(stderr, "headscope train: --%s %g: --resume %s continues its run on its %ld-step schedule "
                                "(%s), which a resume keeps; to train on with another, start a new run from its "
                                "weights: train --init %s --corpus FILE --out NEW_DIR --steps N\n",
                        sched_names[i], sched_given[i], resume, saved.steps, sched, resume);
                status = 2;
                goto done;
            }
        if (saved.step >= saved.steps) {
            fprintf(stderr, "headscope train: --resume %s: the run is complete (%ld of %ld steps: %s); to train on, "
                            "start a new run from its weights: train --init %s --corpus FILE --out NEW_DIR --steps N\n",
                    resume, saved.step, saved.steps, sched, resume);
            status = 2;
            goto done;
        }
        byte_tokens = saved.byte_tokens;
        if (!byte_tokens)
            tok_path = resume;
        layers = dims.n_layers, d_model = dims.d_model, heads = dims.n_heads;
        fill(&ctx, saved.ctx), fill(&batch, saved.batch), fill(&steps, (double)saved.steps);
        fill(&lr, saved.lr), fill(&min_lr, saved.min_lr), fill(&warmup, (double)saved.warmup);
        fill(&wd, opt->o.weight_decay), fill(&clip, saved.clip), fill(&seed, (double)saved.seed);
        fill(&eval_every, (double)saved.eval_every), fill(&val_frac, saved.val_fraction);
        opt->o.weight_decay = (float)wd;
    } else if (init) {
        /* fine-tuning: the model's weights and shape, its tokenizer unless one is given, a fresh optimizer */
        if (hs_model_open(init, NULL, &m, &err) != HS_OK || hs_train_dims_of_model(m, &dims, &err) != HS_OK) {
            fprintf(stderr, "headscope train: --init %s: %s\n", init, err.msg);
            goto done;
        }
        if (!tok_path)
            tok_path = init;
        byte_tokens = 0;
        layers = dims.n_layers, d_model = dims.d_model, heads = dims.n_heads;
        fill(&ctx, dims.n_ctx);
    } else {
        byte_tokens = tok_path == NULL;
    }
    fill(&layers, 4), fill(&d_model, 128), fill(&heads, 4), fill(&ctx, 128), fill(&batch, 8), fill(&steps, 1000);
    fill(&lr, 1e-3), fill(&min_lr, lr / 10), fill(&warmup, floor(steps / 20)), fill(&wd, 0.1), fill(&clip, 1.0);
    fill(&seed, 0), fill(&eval_every, steps >= 10 ? floor(steps / 10) : 0), fill(&val_frac, 0.1);

    double whole[] = {layers, d_model, heads, ctx, batch, steps, warmup, eval_every, threads, seed, stop_after,
                      save_every};
    const char *whole_names[] = {"layers", "d-model", "heads", "ctx", "batch", "steps", "warmup", "eval-every",
                                 "threads", "seed", "stop-after", "save-every"};
    for (int i = 0; i < 12; i++)
        if (whole[i] != floor(whole[i])) {
            fprintf(stderr, "headscope train: --%s %g is not a whole number\n", whole_names[i], whole[i]);
            status = 2;
            goto done;
        }
    if ((int)d_model % (int)heads) {
        fprintf(stderr, "headscope train: --heads %d does not divide --d-model %d\n", (int)heads, (int)d_model);
        status = 2;
        goto done;
    }
    if (stop_after > 0 && (stop_after >= steps || (resume && stop_after <= saved.step))) {
        fprintf(stderr, "headscope train: --stop-after %ld is not between the first step to run and --steps %ld\n",
                (long)stop_after, (long)steps);
        status = 2;
        goto done;
    }
    if (min_lr > lr) {
        fprintf(stderr, "headscope train: --min-lr %g is above --lr %g\n", min_lr, lr);
        status = 2;
        goto done;
    }
    if ((resume || init) && ctx > dims.n_ctx) {
        fprintf(stderr, "headscope train: --ctx %d is beyond the checkpoint's context %d\n", (int)ctx, dims.n_ctx);
        status = 2;
        goto done;
    }
    if (threads == 0) {
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        threads = ncpu > 0 ? (double)ncpu : 1;
    }
    if (threads > batch)
        threads = batch;
    openblas_set_num_threads(1); /* the threads are ours, one share of the batch each */

    int vocab = 257;
    int32_t bos = 256, eos = 256;
    if (tok_path) {
        if (hs_tokenizer_open(tok_path, 0, &tok, &err) != HS_OK) {
            fprintf(stderr, "headscope train: --%s %s: %s\n", resume ? "resume" : "tokenizer", tok_path, err.msg);
            goto done;
        }
        vocab = hs_tokenizer_vocab_size(tok);
        bos = hs_tokenizer_bos_id(tok);
        eos = hs_tokenizer_eos_id(tok);
    }
    if ((resume || init) && vocab != dims.d_vocab && !(byte_tokens && dims.d_vocab >= 257)) {
        fprintf(stderr, "headscope train: --%s %s: the tokenizer has %d tokens, the model %d\n", resume ? "resume" : "init",
                resume ? resume : init, vocab, dims.d_vocab);
        goto done;
    }
    if (!(text = read_file(corpus, &n_text)))
        goto done;
    if (tok) {
        if (hs_tokenizer_encode(tok, text, n_text, 0, &ids, &n_ids, &err) != HS_OK) {
            fprintf(stderr, "headscope train: --corpus %s: %s\n", corpus, err.msg);
            goto done;
        }
    } else {
        if (!(ids = malloc((n_text ? n_text : 1) * sizeof *ids))) {
            fprintf(stderr, "headscope train: out of memory\n");
            goto done;
        }
        for (size_t i = 0; i < n_text; i++)
            ids[i] = (unsigned char)text[i];
        n_ids = n_text;
    }
    size_t n_val = (size_t)((double)n_ids * val_frac);
    if (n_ids - n_val < (size_t)ctx + 1) {
        fprintf(stderr, "headscope train: --corpus %s: %zu tokens (%zu for training) are too few for --ctx %d\n",
                corpus, n_ids, n_ids - n_val, (int)ctx);
        goto done;
    }
    if (!resume && !init)
        dims = (hs_gpt2_dims){(int)layers, (int)d_model, (int)heads, vocab, (int)ctx};
    if (hs_train_model_new(&dims, (int)batch, (int)ctx, HS_BACKEND_CPU, &tm, &err) != HS_OK ||
        hs_train_set_threads(tm, (int)threads, &err) != HS_OK) {
        status = cli_fail("train", &err);
        goto done;
    }
    size_t n_params = 0;
    float *params = hs_train_params(tm, &n_params);
    if (m) { /* --resume or --init: the saved weights */
        if (hs_train_load_model(tm, m, &err) != HS_OK) {
            status = cli_fail("train", &err);
            goto done;
        }
        hs_model_close(m); /* its files may be rewritten below when --out is the same directory */
        m = NULL;
    } else {
        hs_gpt2_init(&dims, params, (uint64_t)seed);
    }
    if (!resume) {
        ao.weight_decay = (float)wd;
        if (hs_adamw_new(&dims, &ao, &opt, &err) != HS_OK) {
            status = cli_fail("train", &err);
            goto done;
        }
    }
    fprintf(stderr, "headscope train: %zu tokens (%zu held out), vocabulary %d; %d layers, d_model %d, %d heads, "
                    "ctx %d: %.2fM parameters; %ld steps of %d x %d tokens on %d threads\n",
            n_ids, n_val, dims.d_vocab, dims.n_layers, dims.d_model, dims.n_heads, dims.n_ctx, (double)n_params / 1e6,
            (long)steps, (int)batch, (int)ctx, (int)threads);
    char sched[160];
    describe_schedule(sched, sizeof sched, (long)steps, (long)warmup, lr, min_lr);
    if (resume)
        fprintf(stderr, "headscope train: resuming at step %ld of a %ld-step schedule: %s (next lr %.2e)\n",
                saved.step, (long)steps, sched,
                hs_lr_cosine(saved.step, (long)steps, (long)warmup, (float)lr, (float)min_lr));
    else
        fprintf(stderr, "headscope train: schedule: %ld steps, %s\n", (long)steps, sched);
    if (strcmp(openblas_get_corename(), "Prescott") == 0 && !getenv("OPENBLAS_CORETYPE"))
        fprintf(stderr, "headscope train: note: OpenBLAS uses its generic Prescott kernels here (this CPU has "
                        "neither AVX-512 nor AVX2, or re-running with better ones failed)\n");
    pg.steps = (long)steps;
    pg.every = pg.steps >= 20 ? pg.steps / 20 : 1;
    pg.tty = isatty(2);
    pg.stop_after = (long)stop_after;
    pg.save_every = (long)save_every;
    int corpus_has_bos = 0;
    for (size_t i = 0; i < n_ids && !corpus_has_bos && !byte_tokens; i++)
        corpus_has_bos = ids[i] == bos;
    saver sv = {.tm = tm, .opt = opt, .out = out, .tok_path = tok_path, .bos = bos, .eos = eos,
                .add_bos = corpus_has_bos,
                .ts = {.steps = (long)steps, .seed = (uint64_t)seed, .batch = (int)batch, .ctx = (int)ctx,
                       .lr = (float)lr, .min_lr = (float)min_lr, .clip = (float)clip, .warmup = (long)warmup,
                       .eval_every = (long)eval_every, .val_fraction = val_frac, .byte_tokens = byte_tokens}};
    pg.sv = &sv;
    pg.tokens_per_step = batch * ctx;
    if (!(pg.recs = calloc((size_t)pg.steps, sizeof *pg.recs))) {
        fprintf(stderr, "headscope train: out of memory\n");
        goto done;
    }
    if (resume)
        read_old_log(resume, pg.recs, saved.step);
    hs_train_opts o = {.B = (int)batch, .T = (int)ctx, .steps = (long)steps, .start_step = resume ? saved.step : 0,
                       .lr = (float)lr, .min_lr = (float)min_lr, .warmup = (long)warmup, .clip = (float)clip,
                       .seed = (uint64_t)seed, .val_fraction = val_frac, .eval_every = (long)eval_every,
                       .eval_batches = 8};
    hs_status rc = hs_train_run(tm, opt, ids, n_ids, &o, on_step, &pg, &err);
    if (pg.save_failed)
        goto done;
    if (rc != HS_OK && !(rc == HS_ERR_CALLBACK && pg.stop_after > 0)) {
        status = cli_fail("train", &err);
        goto done;
    }
    long done_steps = rc == HS_OK ? (long)steps : pg.stop_after;
    if (save_all(&sv, pg.recs, done_steps))
        goto done;
    const hs_train_record *last = &pg.recs[done_steps - 1];
    fprintf(stderr, "headscope train: wrote %s after step %ld of %ld (loss %.4f, validation loss %.4f, %.0f tokens/s)\n",
            out, done_steps, (long)steps, last->loss, last->val_loss, last->tokens_per_s);
    status = 0;
done:
    free(pg.recs);
    hs_adamw_free(opt);
    hs_train_model_free(tm);
    hs_model_close(m);
    free(ids);
    free(text);
    hs_tokenizer_close(tok);
    return status;
}
