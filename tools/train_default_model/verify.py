"""Check, with TransformerLens, that the committed F16 default model shows every tutorial's
phenomenon, and write the numbers to achieved.json (docs/DEFAULT_MODEL.md quotes them).

    /work/venv-ref/bin/python tools/train_default_model/verify.py [model_dir]

The model is loaded the way REFERENCE_SETUP.md "No hub here" describes: transformers reads
config.json + model.safetensors (F16, upcast to float32), then HookedTransformer gets the
converted weights with default processing (fold_ln, center_writing_weights, center_unembed,
fold_value_biases). TransformerLens prepends BOS (<|endoftext|>); so do we, by hand, since
there is no Hugging Face tokenizer here (tokens come from tiktoken with the real GPT-2 BPE).
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt2_tokenizer import END_OF_TEXT, load_gpt2_encoding  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
DEFAULT_MODEL = os.path.join(REPO, "Sources", "TLHub", "Resources", "DefaultModel")

STEER_POSITIVE = "I love this! It's absolutely wonderful and"
STEER_NEGATIVE = "I hate this! It's absolutely terrible and"
STEER_PROMPT = "The movie was"
CLEAN = "The Eiffel Tower is in the city of"
CORRUPT = "The Colosseum is in the city of"


def load_models(model_dir):
    from transformers import GPT2LMHeadModel
    from transformer_lens import HookedTransformer, HookedTransformerConfig
    from transformer_lens.pretrained.weight_conversions import convert_gpt2_weights
    hf = GPT2LMHeadModel.from_pretrained(model_dir, dtype=torch.float32).eval()
    c = hf.config
    cfg = HookedTransformerConfig(
        n_layers=c.n_layer, d_model=c.n_embd, n_heads=c.n_head, d_head=c.n_embd // c.n_head,
        d_mlp=c.n_inner, n_ctx=c.n_positions, d_vocab=c.vocab_size, act_fn="gelu_new",
        normalization_type="LN", eps=c.layer_norm_epsilon, positional_embedding_type="standard",
        original_architecture="GPT2LMHeadModel", default_prepend_bos=True)
    tl = HookedTransformer(cfg)
    tl.load_and_process_state_dict(convert_gpt2_weights(hf, cfg), fold_ln=True, center_writing_weights=True,
                                   center_unembed=True, fold_value_biases=True)
    return hf, tl.eval()


def main():
    torch.set_num_threads(1)  # fastest on a shared machine
    model_dir = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_MODEL
    enc = load_gpt2_encoding()
    hf, model = load_models(model_dir)

    def toks(text):
        return torch.tensor([[END_OF_TEXT] + enc.encode(text)])

    def tok1(word):
        ids = enc.encode(word)
        assert len(ids) == 1, word
        return ids[0]

    def show(ids):
        return enc.decode(ids)

    paris, rome = tok1(" Paris"), tok1(" Rome")
    out = {"model_dir": os.path.relpath(model_dir, REPO)}
    with torch.no_grad():
        # 0. TransformerLens agrees with transformers on the F16 weights (up to the
        #    per-position constant center_unembed removes).
        t = toks("The capital of France is")
        a = model(t)
        b = hf(t).logits
        a, b = a - a.mean(-1, keepdim=True), b - b.mean(-1, keepdim=True)
        out["tl_vs_hf_max_abs_diff_centered_logits"] = (a - b).abs().max().item()
        total_bytes = sum(os.path.getsize(os.path.join(model_dir, f)) for f in ("config.json", "model.safetensors"))
        out["size_bytes"] = total_bytes
        out["parameters"] = sum(p.numel() for p in hf.parameters())

        # 1. Load & cache: the capital of France.
        logits = model(toks("The capital of France is"))[0, -1]
        probs = logits.softmax(-1)
        top = probs.topk(5)
        out["capital_of_france"] = {
            "prompt": "The capital of France is", "tokens_with_bos": toks("The capital of France is")[0].tolist(),
            "top1": show([top.indices[0].item()]), "p_paris": probs[paris].item(),
            "top5": [[show([i.item()]), round(p.item(), 4)] for p, i in zip(top.values, top.indices)]}
        import corpus
        correct = 0
        for country, city in corpus.CAPITALS:
            lg = model(toks(f"The capital of {country} is"))[0, -1]
            correct += int(lg.argmax().item() == tok1(" " + city))
        out["capitals_top1_accuracy"] = f"{correct}/{len(corpus.CAPITALS)}"
        correct = 0
        for landmark, city in corpus.LANDMARKS:
            lg = model(toks(f"{landmark[0].upper() + landmark[1:]} is in the city of"))[0, -1]
            correct += int(lg.argmax().item() == tok1(" " + city))
        out["landmarks_top1_accuracy"] = f"{correct}/{len(corpus.LANDMARKS)}"

        # 2. Logit difference Paris - Rome on the landmark prompts.
        def logit_diff(lg):
            return (lg[..., -1, paris] - lg[..., -1, rome]).item()
        clean_t, corrupt_t = toks(CLEAN), toks(CORRUPT)
        assert clean_t.shape == corrupt_t.shape, "patching prompts must have equal token length"
        clean_logits, clean_cache = model.run_with_cache(clean_t)
        corrupt_logits = model(corrupt_t)
        clean_diff, corrupt_diff = logit_diff(clean_logits[0]), logit_diff(corrupt_logits[0])
        out["logit_diff_paris_minus_rome"] = {CLEAN: clean_diff, CORRUPT: corrupt_diff,
                                              "top1_" + CLEAN: show([clean_logits[0, -1].argmax().item()]),
                                              "top1_" + CORRUPT: show([corrupt_logits[0, -1].argmax().item()])}

        # 3. Activation patching: clean residual stream into the corrupt run, layer x position,
        #    at resid_pre (layer 0 = embeddings) and at resid_post.
        n_layers, n_pos = model.cfg.n_layers, clean_t.shape[1]
        out["patching"] = {
            "clean": CLEAN, "corrupt": CORRUPT,
            "metric": "(patched - corrupt)/(clean - corrupt) of logit(' Paris')-logit(' Rome')",
            "tokens": [show([i]) for i in clean_t[0].tolist()],
            "corrupt_tokens": [show([i]) for i in corrupt_t[0].tolist()]}
        for hook in ("resid_pre", "resid_post"):
            grid = torch.zeros(n_layers, n_pos)
            for layer in range(n_layers):
                for pos in range(n_pos):
                    def patch(act, hook, pos=pos):
                        act[:, pos] = clean_cache[hook.name][:, pos]
                        return act
                    lg = model.run_with_hooks(corrupt_t, fwd_hooks=[(f"blocks.{layer}.hook_{hook}", patch)])
                    grid[layer, pos] = (logit_diff(lg[0]) - corrupt_diff) / (clean_diff - corrupt_diff)
            out["patching"][hook + "_grid_layer_by_position"] = [[round(v, 3) for v in row] for row in grid.tolist()]

        # 4. Direct logit attribution of the clean logit difference (per head, per MLP).
        direction = model.W_U[:, paris] - model.W_U[:, rome]
        heads, head_labels = clean_cache.stack_head_results(layer=-1, pos_slice=-1, return_labels=True)
        heads = clean_cache.apply_ln_to_stack(heads, layer=-1, pos_slice=-1)
        head_attr = (heads[:, 0] @ direction)
        comps, comp_labels = clean_cache.decompose_resid(layer=-1, pos_slice=-1, return_labels=True)
        comps = clean_cache.apply_ln_to_stack(comps, layer=-1, pos_slice=-1)
        comp_attr = comps[:, 0] @ direction
        order = head_attr.abs().argsort(descending=True)[:5]
        out["dla_eiffel"] = {"components": {l: round(v, 3) for l, v in zip(comp_labels, comp_attr.tolist())},
                             "top_heads": [[head_labels[i], round(head_attr[i].item(), 3)] for i in order.tolist()],
                             "sum_components": comp_attr.sum().item(), "logit_diff": clean_diff}

        # 5. Logit lens: rank of " Paris" after each layer.
        _, cache = model.run_with_cache(toks("The capital of France is"))
        resid, labels = cache.accumulated_resid(layer=-1, incl_mid=False, pos_slice=-1, apply_ln=True, return_labels=True)
        lens_logits = resid[:, 0] @ model.W_U + model.b_U
        ranks = (lens_logits > lens_logits[:, [paris]]).sum(-1)
        out["logit_lens_capital_of_france"] = {
            l: {"rank_paris": int(r), "top1": show([lg.argmax().item()]),
                "p_paris": lg.softmax(-1)[paris].item()}
            for l, r, lg in zip(labels, ranks.tolist(), lens_logits)}

        # 6. Induction heads: [BOS] + r + r, r uniform in [100, 20000).
        g = torch.Generator().manual_seed(0)
        scores = {}
        for L in (20, 35, 50):
            r = torch.randint(100, 20000, (10, L), generator=g)
            t = torch.cat([torch.full((10, 1), END_OF_TEXT), r, r], 1)
            logits, cache = model.run_with_cache(t)
            nll = -logits.log_softmax(-1)[:, :-1].gather(2, t[:, 1:, None])[..., 0]
            for layer in range(n_layers):
                pattern = cache[f"blocks.{layer}.attn.hook_pattern"]  # [batch, head, dest, src]
                dest = torch.arange(L + 1, 2 * L + 1)
                s = pattern[:, :, dest, dest - L + 1].mean((0, 2))
                for h in range(model.cfg.n_heads):
                    scores.setdefault(f"L{layer}H{h}", []).append(s[h].item())
            scores.setdefault("_loss_first_copy", []).append(nll[:, :L].mean().item())
            scores.setdefault("_loss_second_copy", []).append(nll[:, L:].mean().item())
        head_scores = {k: round(sum(v) / len(v), 3) for k, v in scores.items() if not k.startswith("_")}
        best = max(head_scores, key=head_scores.get)
        out["induction"] = {"score_by_head": head_scores, "best_head": best, "best_score": head_scores[best],
                            "lengths": [20, 35, 50],
                            "loss_first_copy": [round(v, 3) for v in scores["_loss_first_copy"]],
                            "loss_second_copy": [round(v, 3) for v in scores["_loss_second_copy"]]}
        # previous-token heads (attention from each position to the one before it)
        prev = {}
        for layer in range(n_layers):
            pattern = cache[f"blocks.{layer}.attn.hook_pattern"]
            d = torch.arange(1, t.shape[1])
            pv = pattern[:, :, d, d - 1].mean((0, 2))
            for h in range(model.cfg.n_heads):
                prev[f"L{layer}H{h}"] = round(pv[h].item(), 3)
        out["previous_token_score_by_head"] = prev

        # 7. Steering: mean resid_post (over positions) of positive minus negative prompt.
        def generate(prompt, hooks=(), n=20):
            t = toks(prompt)
            for _ in range(n):
                lg = model.run_with_hooks(t, fwd_hooks=list(hooks))
                t = torch.cat([t, lg[:, -1].argmax(-1, keepdim=True)], 1)
            return show(t[0, 1:].tolist())

        pos_t, neg_t = toks(STEER_POSITIVE), toks(STEER_NEGATIVE)
        _, pos_cache = model.run_with_cache(pos_t)
        _, neg_cache = model.run_with_cache(neg_t)
        steering = {"positive_prompt": STEER_POSITIVE, "negative_prompt": STEER_NEGATIVE,
                    "prompt": STEER_PROMPT, "unsteered": generate(STEER_PROMPT), "by_layer": {}}
        for prompt in ("The food was", "The weather today was", "The book was"):
            steering.setdefault("unsteered_other", {})[prompt] = generate(prompt)
        for layer in range(n_layers):
            name = f"blocks.{layer}.hook_resid_post"
            vec = pos_cache[name][0].mean(0) - neg_cache[name][0].mean(0)
            row = {}
            for coef in (2, 4, 8, -2, -4, -8):
                def add(act, hook, v=coef * vec):
                    return act + v
                row[str(coef)] = generate(STEER_PROMPT, [(name, add)])
            steering["by_layer"][str(layer)] = row
        out["steering"] = steering

    path = os.path.join(HERE, "achieved.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=2)
        f.write("\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
