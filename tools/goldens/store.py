"""Collects named tensors and writes them as one F32 safetensors file."""
from __future__ import annotations

import torch
from safetensors.torch import save_file


class TensorStore:
    def __init__(self) -> None:
        self.tensors: dict[str, torch.Tensor] = {}

    def put(self, key: str, value) -> None:
        if key in self.tensors:
            raise KeyError(f"duplicate golden key {key}")
        tensor = torch.as_tensor(value).detach().to(torch.float32).contiguous().clone()
        self.tensors[key] = tensor

    def put_all(self, prefix: str, items) -> list[str]:
        """Stores every (name, tensor) under prefix + name; returns the names in order."""
        names = []
        for name, value in items:
            self.put(prefix + name, value)
            names.append(name)
        return names

    def save(self, path: str, metadata: dict[str, str] | None = None) -> None:
        save_file(self.tensors, path, metadata=metadata or {"format": "pt"})
