"""Print a GGUF file's metadata as JSON. Run with the model venv's python (it has `gguf`).

.venv-llm/bin/python bench/llm/gguf_info.py bench/llm/models/MODEL.gguf
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from typing import Any

from gguf import GGUFReader, GGUFValueType

KEYS = (
    "general.name",
    "general.architecture",
    "general.basename",
    "general.finetune",
    "general.size_label",
    "general.file_type",
    "general.quantization_version",
    "general.license",
)
FILE_TYPES = {15: "MOSTLY_Q4_K_M", 7: "MOSTLY_Q8_0", 1: "MOSTLY_F16"}


def field_value(reader: GGUFReader, key: str) -> Any:
    field = reader.fields.get(key)
    if field is None or not field.data:
        return None
    value = field.parts[field.data[0]]
    if field.types and field.types[0] == GGUFValueType.STRING:
        return bytes(value).decode("utf-8", errors="replace")
    return value.tolist()[0]


def describe(path: str) -> dict[str, Any]:
    reader = GGUFReader(path)
    info: dict[str, Any] = {key: field_value(reader, key) for key in KEYS}
    arch = info["general.architecture"]
    info[f"{arch}.context_length"] = field_value(reader, f"{arch}.context_length")
    info["file_type_name"] = FILE_TYPES.get(info["general.file_type"], "?")
    template = field_value(reader, "tokenizer.chat_template")
    info["tokenizer.chat_template"] = template is not None
    info["chat_template_chars"] = len(template or "")
    info["chat_template_chatml"] = "<|im_start|>" in (template or "")
    info["tensors"] = len(reader.tensors)
    info["parameters"] = int(sum(int(t.n_elements) for t in reader.tensors))
    info["metadata_keys"] = len(reader.fields)
    info["gguf_version"] = version("gguf")
    info["llama_cpp_python_version"] = version("llama_cpp_python")
    return info


if __name__ == "__main__":
    print(json.dumps(describe(sys.argv[1]), indent=2))
