"""The web chat for readers: a Gradio app over the engine, with a named `/ask` API.

Importing this package is light; `assistant.web.app` loads Gradio.
"""
