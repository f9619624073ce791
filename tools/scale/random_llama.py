"""Writes a Llama-shaped Hugging Face directory of random weights, sharded BF16 safetensors, straight
from numpy, one tensor at a time (no model object, no Float32 copy of the whole model), for the
`dtype=bf16` scale check (docs/PERFORMANCE.md). Nothing it writes belongs in the repository.

    python3 tools/scale/random_llama.py OUT_DIR [--shape 8b|3b|1b] [--layers N]

Weights are N(0, 0.02²) (norm weights 1), rounded to bfloat16 by round-to-nearest-even.
"""
import argparse, json, os, struct
import numpy as np

SHAPES = {  # Llama-3.1-8B, Llama-3.2-3B, Llama-3.2-1B (their config.json sizes)
    "8b": dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
               num_key_value_heads=8, tie_word_embeddings=False),
    "3b": dict(hidden_size=3072, intermediate_size=8192, num_hidden_layers=28, num_attention_heads=24,
               num_key_value_heads=8, tie_word_embeddings=True),
    "1b": dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
               num_key_value_heads=8, tie_word_embeddings=True),
}


def bf16_bits(x):
    u = x.astype(np.float32).view(np.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def tensors(cfg, rng):
    d, m, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    H, K = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    dh = d // H
    V = cfg["vocab_size"]
    yield "model.embed_tokens.weight", (V, d), "normal"
    for l in range(L):
        p = f"model.layers.{l}."
        yield p + "input_layernorm.weight", (d,), "ones"
        yield p + "self_attn.q_proj.weight", (H * dh, d), "normal"
        yield p + "self_attn.k_proj.weight", (K * dh, d), "normal"
        yield p + "self_attn.v_proj.weight", (K * dh, d), "normal"
        yield p + "self_attn.o_proj.weight", (d, H * dh), "normal"
        yield p + "post_attention_layernorm.weight", (d,), "ones"
        yield p + "mlp.gate_proj.weight", (m, d), "normal"
        yield p + "mlp.up_proj.weight", (m, d), "normal"
        yield p + "mlp.down_proj.weight", (d, m), "normal"
    yield "model.norm.weight", (d,), "ones"
    if not cfg["tie_word_embeddings"]:
        yield "lm_head.weight", (V, d), "normal"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--shape", default="8b", choices=SHAPES)
    ap.add_argument("--layers", type=int, help="fewer layers than the real model (a quick check)")
    ap.add_argument("--shard-gb", type=float, default=4.0)
    args = ap.parse_args()
    cfg = dict(SHAPES[args.shape], architectures=["LlamaForCausalLM"], model_type="llama", vocab_size=128256,
               max_position_embeddings=131072, rms_norm_eps=1e-5, rope_theta=500000.0, hidden_act="silu",
               rope_scaling=dict(factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                 original_max_position_embeddings=8192, rope_type="llama3"),
               attention_bias=False, mlp_bias=False, torch_dtype="bfloat16", bos_token_id=128000, eos_token_id=128001)
    if args.layers:
        cfg["num_hidden_layers"] = args.layers
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    rng = np.random.default_rng(0)
    specs = list(tensors(cfg, rng))
    # Shards of about shard-gb each, in order.
    shards, cur, size = [], [], 0
    for name, shape, kind in specs:
        n = int(np.prod(shape)) * 2
        if cur and size + n > args.shard_gb * 1e9:
            shards.append(cur); cur, size = [], 0
        cur.append((name, shape, kind)); size += n
    shards.append(cur)
    weight_map, total = {}, 0
    for i, shard in enumerate(shards):
        fname = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        header, offset = {}, 0
        for name, shape, _ in shard:
            n = int(np.prod(shape)) * 2
            header[name] = dict(dtype="BF16", shape=list(shape), data_offsets=[offset, offset + n])
            offset += n
            weight_map[name] = fname
        h = json.dumps(header).encode()
        h += b" " * ((8 - len(h) % 8) % 8)
        with open(os.path.join(args.out, fname), "wb") as f:
            f.write(struct.pack("<Q", len(h)) + h)
            for name, shape, kind in shard:
                count = int(np.prod(shape))
                if kind == "ones":
                    f.write(bf16_bits(np.ones(count, np.float32)).tobytes())
                    continue
                for start in range(0, count, 1 << 26):  # 64 Mi values at a time
                    c = min(1 << 26, count - start)
                    f.write(bf16_bits(rng.standard_normal(c, dtype=np.float32) * 0.02).tobytes())
        total += offset
        print(f"wrote {fname} ({offset / 1e9:.2f} GB)", flush=True)
    with open(os.path.join(args.out, "model.safetensors.index.json"), "w") as f:
        json.dump(dict(metadata=dict(total_size=total), weight_map=weight_map), f, indent=1)
    print(f"{args.out}: {total / 1e9:.2f} GB of BF16 weights, {cfg['num_hidden_layers']} layers")


if __name__ == "__main__":
    main()
