"""The plugin's fixed names: option keys, runtime and code kinds, the hub variable.

A module of constants only, so that registering the plugin (which every
``polyhub`` command does) imports neither YAML nor the card parser.
"""

from __future__ import annotations

#: The address options the source consumes itself (never passed to the model).
SOURCE_OPTIONS = ("hub", "pretrained")
#: ``CodeRef.kind`` of a card whose model is built by ``mindspore_hub_conf.py``.
CODE_KIND = "mindspore-hub-conf"
#: The variable naming the hub (a folder, a git URL or an HTTP base).
HUB_ENV = "POLYHUB_MINDSPORE_HUB"
MS_RUNTIME = "mindspore"
AIR_RUNTIME = "mindspore-air"
LITE_RUNTIME = "mindspore-lite"
#: The file of a card's code the core imports, and the factory it takes from it.
CONF_FILE = "mindspore_hub_conf.py"
CONF_FUNCTION = "create_network"
