#!/usr/bin/env python3
"""A stand-in for the Hugging Face hub, for TLHub's tests (stdlib only).

Serves `{endpoint}/{repo}/resolve/{revision}/{file}` with the headers huggingface_hub relies on
(X-Repo-Commit, ETag, X-Linked-Etag, X-Linked-Size, X-Error-Code), 302 redirects for LFS files to
a "CDN" on another host name (localhost instead of 127.0.0.1), Range requests on the CDN, and
`/api/models/{repo}/revision/{rev}` file listings.

Fixture repos, all built in memory at start-up (deterministic bytes):
  tiny/gpt2             config, tokenizer.json, vocab.json + merges.txt, generation_config.json,
                        model.safetensors (LFS, a few KB)
  gpt2                  renamed: 307 to openai-community/gpt2 (a copy of tiny/gpt2), like the real hub
  tiny/flaky            like tiny/gpt2, but the first CDN GET of the weights drops the connection
                        after half the bytes
  tiny/sharded          model.safetensors.index.json + two shards
  tiny/no-range         its CDN ignores Range and always answers 200 with the whole body
  tiny/gated            401 GatedRepo unless "Authorization: Bearer secret-token"
  tiny/pytorch-only     config + tokenizer + pytorch_model.bin (not a real one), no safetensors
  tiny/flax-only        config + tokenizer + flax_model.msgpack: no weights tlsh reads
  family repos          the tiny random models of Tests/Fixtures/families/*/hf under real names
                        (FAMILY_REPOS below), no tokenizer; EleutherAI/pythia-70m-deduped also has
                        the revision "step3000" holding only pytorch_model.bin
                        (Tests/Fixtures/pytorch/pythia-a-bin), like Pythia's training checkpoints
  tiny/corrupt          the CDN body does not match the published sha256
  jbloom/GPT2-Small-SAEs-Reformatted   an SAE release: blocks.0.hook_resid_pre/{cfg.json,
                        sae_weights.safetensors} (Tests/Fixtures/sae/standard/sae)
  google/gemma-scope-*, fnlp/Llama3_1-*   Gemma Scope / Llama Scope releases (Tests/Fixtures/sae_scopes/hub)
  anything else         404 RepoNotFound
Revisions: "main", the tag "v1" and the full commit hash; any other is 404 RevisionNotFound, except
the extra revisions of REVISIONS (served as repos named "repo@revision", with their own commit).

Control endpoints (not counted): GET /_stats (request counts, CDN requests that carried an
Authorization header), GET /_reset, GET /_manifest (per repo and file: size, sha256, etag,
commit, computed here with hashlib as the reference the Swift tests compare against).

Prints the port it listens on (127.0.0.1, port 0 = any free port) as the first stdout line.
"""
import hashlib
import json
import os
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = "secret-token"


def safetensors_bytes(tensors):
    """A valid safetensors file: 8-byte little-endian header length, JSON header, F32 data."""
    header, data, offset = {}, b"", 0
    for name, values in tensors:
        blob = struct.pack("<%df" % len(values), *values)
        header[name] = {"dtype": "F32", "shape": [len(values)], "data_offsets": [offset, offset + len(blob)]}
        data += blob
        offset += len(blob)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def tokenizer_files():
    vocab = {"!": 0, "a": 1, "b": 2, "ab": 3, "<|endoftext|>": 4}
    merges = "#version: 0.2\na b\n"
    tokenizer = {"version": "1.0", "model": {"type": "BPE", "vocab": vocab, "merges": ["a b"]}}
    return {
        "vocab.json": json.dumps(vocab).encode(),
        "merges.txt": merges.encode(),
        "tokenizer.json": json.dumps(tokenizer).encode(),
    }


def base_repo(seed):
    config = {"model_type": "gpt2", "n_layer": 1, "n_head": 2, "n_embd": 8, "n_positions": 16, "vocab_size": 5}
    files = {"config.json": json.dumps(config, indent=2).encode(), "generation_config.json": b'{"bos_token_id": 4}\n'}
    files.update(tokenizer_files())
    weights = [("wte.weight", [((i * 7 + seed) % 23) / 23.0 for i in range(1536)])]
    files["model.safetensors"] = safetensors_bytes(weights)
    return files


# Real repo names (those TransformerLens's aliases resolve to) → fixture folders under Tests/Fixtures.
FAMILY_REPOS = {
    "EleutherAI/pythia-70m": "families/pythia-a/hf",
    "EleutherAI/pythia-70m-deduped": "families/pythia-b/hf",
    "EleutherAI/pythia-70m-deduped@step3000": "pytorch/pythia-a-bin",
    "meta-llama/Llama-3.2-1B": "families/llama-a/hf",
    "mistralai/Mistral-7B-v0.1": "families/mistral-a/hf",
    "Qwen/Qwen2.5-0.5B": "families/qwen2-a/hf",
    "Qwen/Qwen3-0.6B": "families/qwen3-a/hf",
    "google/gemma-2-2b": "families/gemma2-a/hf",
    "google/gemma-2b": "families/gemma-a/hf",
    "google/gemma-7b": "families/gemma-b/hf",
    "Qwen/Qwen1.5-0.5B": "families/qwen2-b/hf",
}


def read_folder(path):
    files = {}
    for name in sorted(os.listdir(path)):
        with open(os.path.join(path, name), "rb") as f:
            files[name] = f.read()
    return files


def build_repos():
    repos = {}
    repos["tiny/gpt2"] = base_repo(1)
    repos["openai-community/gpt2"] = base_repo(2)
    repos["tiny/flaky"] = base_repo(3)
    repos["tiny/gated"] = base_repo(4)
    repos["tiny/no-range"] = base_repo(8)
    corrupt = base_repo(5)
    repos["tiny/corrupt"] = corrupt
    sharded = base_repo(6)
    del sharded["model.safetensors"]
    shard1 = safetensors_bytes([("h.0.w", [0.5] * 600)])
    shard2 = safetensors_bytes([("h.1.w", [0.25] * 700)])
    sharded["model-00001-of-00002.safetensors"] = shard1
    sharded["model-00002-of-00002.safetensors"] = shard2
    index = {"metadata": {"total_size": 5200},
             "weight_map": {"h.0.w": "model-00001-of-00002.safetensors", "h.1.w": "model-00002-of-00002.safetensors"}}
    sharded["model.safetensors.index.json"] = json.dumps(index).encode()
    repos["tiny/sharded"] = sharded
    pt = base_repo(7)
    del pt["model.safetensors"]
    pt["pytorch_model.bin"] = b"PK\x03\x04 not really a pickle " * 100
    repos["tiny/pytorch-only"] = pt
    flax = base_repo(9)
    del flax["model.safetensors"]
    flax["flax_model.msgpack"] = b"\x80 not weights tlsh reads"
    repos["tiny/flax-only"] = flax
    fixtures = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    for repo, folder in FAMILY_REPOS.items():
        repos[repo] = read_folder(os.path.join(fixtures, folder))
    # An SAE release in SAELens's layout, under the repo and folder SAELens's table names for
    # gpt2-small-res-jb / blocks.0.hook_resid_pre (the files are the tiny-a "standard" fixture).
    sae_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sae", "standard", "sae")
    release = {}
    for name in ("cfg.json", "sae_weights.safetensors"):
        with open(os.path.join(sae_dir, name), "rb") as f:
            release["blocks.0.hook_resid_pre/" + name] = f.read()
    repos["jbloom/GPT2-Small-SAEs-Reformatted"] = release
    # Gemma Scope, Gemma Scope 2 and Llama Scope releases in their own layouts, under their real
    # repos and folders (Tests/Fixtures/sae_scopes/hub, written by tools/goldens/sae_scopes.py).
    scopes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sae_scopes", "hub")
    for org in sorted(os.listdir(scopes)) if os.path.isdir(scopes) else []:
        for name in sorted(os.listdir(os.path.join(scopes, org))):
            top = os.path.join(scopes, org, name)
            files = {}
            for folder, _, names in os.walk(top):
                for n in names:
                    with open(os.path.join(folder, n), "rb") as f:
                        files[os.path.relpath(os.path.join(folder, n), top).replace(os.sep, "/")] = f.read()
            repos[org + "/" + name] = files
    return repos


REPOS = build_repos()
RENAMED = {"gpt2": "openai-community/gpt2"}


def is_lfs(name):
    return name.endswith(".safetensors") or name.endswith(".bin")


def commit_of(repo):
    return hashlib.sha1(("commit:" + repo).encode()).hexdigest()


def git_blob_sha1(content):
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def manifest():
    out = {}
    for repo, files in REPOS.items():
        out[repo] = {"commit": commit_of(repo), "files": {}}
        for name, content in files.items():
            out[repo]["files"][name] = {
                "size": len(content),
                "sha256": hashlib.sha256(content).hexdigest(),
                "etag": hashlib.sha256(content).hexdigest() if is_lfs(name) else git_blob_sha1(content),
                "lfs": is_lfs(name),
            }
    return out


class State:
    lock = threading.Lock()
    requests = 0
    paths = []
    cdn_with_auth = 0
    dropped = set()  # CDN keys whose first transfer has been cut already

    @classmethod
    def reset(cls):
        with cls.lock:
            cls.requests, cls.paths, cls.cdn_with_auth = 0, [], 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-hub/1"

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    # -- plumbing -------------------------------------------------------------------------------
    def send(self, status, headers=None, body=b""):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, repo=None, message=""):
        headers = {"X-Error-Code": code, "X-Error-Message": message or code, "Content-Type": "application/json"}
        if repo is not None and code == "EntryNotFound":
            headers["X-Repo-Commit"] = commit_of(repo)
        self.send(status, headers, json.dumps({"error": message or code}).encode())

    def do_HEAD(self):
        self.route()

    def do_GET(self):
        self.route()

    def route(self):
        path = self.path.split("?")[0]
        if path.startswith("/_"):
            return self.control(path)
        with State.lock:
            State.requests += 1
            entry = self.command + " " + path
            if self.headers.get("Range"):
                entry += " Range:" + self.headers.get("Range")
            State.paths.append(entry)
        if path.startswith("/cdn/"):
            return self.cdn(path[len("/cdn/"):])
        if path.startswith("/api/models/"):
            return self.api(path[len("/api/models/"):])
        if "/resolve/" in path:
            repo, rest = path[1:].split("/resolve/", 1)
            return self.resolve(repo, rest)
        self.error(404, "RepoNotFound", message="unknown path")

    def control(self, path):
        if path == "/_stats":
            with State.lock:
                body = {"requests": State.requests, "paths": State.paths, "cdn_with_auth": State.cdn_with_auth}
            return self.send(200, {"Content-Type": "application/json"}, json.dumps(body).encode())
        if path == "/_reset":
            State.reset()
            return self.send(200, {}, b"ok")
        if path == "/_manifest":
            return self.send(200, {"Content-Type": "application/json"}, json.dumps(manifest()).encode())
        self.send(404, {}, b"")

    # -- hub ------------------------------------------------------------------------------------
    def resolve(self, repo, rest):
        if repo in RENAMED:  # the hub answers renamed repos with a relative redirect
            return self.send(307, {"Location": "/%s/resolve/%s" % (RENAMED[repo], rest)})
        if repo not in REPOS:
            return self.error(404, "RepoNotFound", message="Repository not found")
        if repo == "tiny/gated" and self.headers.get("Authorization") != "Bearer " + TOKEN:
            return self.error(401, "GatedRepo", message="Access to model tiny/gated is restricted")
        revision, _, name = rest.partition("/")
        revision = revision.replace("%2F", "/")
        extra = [r for r in REPOS if r.startswith(repo + "@") and revision in (r.split("@", 1)[1], commit_of(r))]
        if extra:  # an extra revision is served as its own repo entry
            repo = extra[0]
        commit = commit_of(repo)
        if not extra and revision not in ("main", "v1", commit):
            return self.error(404, "RevisionNotFound", message="Invalid rev id: " + revision)
        files = REPOS[repo]
        if name not in files:
            return self.error(404, "EntryNotFound", repo=repo, message="Entry not found")
        content = files[name]
        if is_lfs(name):
            sha = hashlib.sha256(content).hexdigest()
            host_port = self.server.server_address[1]
            location = "http://localhost:%d/cdn/%s/%s" % (host_port, repo.replace("/", "--").replace("@", "%40"), name)
            return self.send(302, {
                "Location": location,
                "X-Repo-Commit": commit,
                "ETag": '"%s"' % git_blob_sha1(b"version https://git-lfs.github.com/spec/v1\noid sha256:" + sha.encode()),
                "X-Linked-Etag": '"%s"' % sha,
                "X-Linked-Size": str(len(content)),
            })
        self.send(200, {"X-Repo-Commit": commit, "ETag": '"%s"' % git_blob_sha1(content),
                        "Content-Type": "application/octet-stream"}, content)

    def cdn(self, key):
        repo_key, _, name = key.partition("/")
        repo = repo_key.replace("--", "/").replace("%40", "@")
        if repo not in REPOS or name not in REPOS[repo]:
            return self.send(404, {}, b"no such object")
        if self.headers.get("Authorization"):
            with State.lock:
                State.cdn_with_auth += 1
        content = REPOS[repo][name]
        if repo == "tiny/corrupt":
            content = bytes([content[0] ^ 0xFF]) + content[1:]
        start = 0
        range_header = self.headers.get("Range")
        if repo == "tiny/no-range":
            range_header = None  # like a CDN that ignores Range: always 200 with the whole body
        if range_header and range_header.startswith("bytes=") and range_header.endswith("-"):
            start = int(range_header[len("bytes="):-1])
            if start >= len(content):
                return self.send(416, {"Content-Range": "bytes */%d" % len(content)})
        body = content[start:]
        status = 206 if start else 200
        headers = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}
        if start:
            headers["Content-Range"] = "bytes %d-%d/%d" % (start, len(content) - 1, len(content))
        with State.lock:
            drop = repo == "tiny/flaky" and self.command == "GET" and key not in State.dropped
            if drop:
                State.dropped.add(key)
        if drop:
            # Announce the whole body, send half, then cut the connection.
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.send(status, headers, body)

    def api(self, rest):
        repo, _, revision = rest.partition("/revision/")
        if repo not in REPOS:
            return self.error(404, "RepoNotFound", message="Repository not found")
        body = {"id": repo, "sha": commit_of(repo),
                "siblings": [{"rfilename": name} for name in sorted(REPOS[repo])]}
        self.send(200, {"Content-Type": "application/json"}, json.dumps(body).encode())


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
