"""The config file (TOML) → frozen, validated settings, parsed once at start.

Every section is a frozen dataclass whose fields carry their unit in the name
(config.sections). Validation is strict (config.parse): an unknown key, a wrong
type or a value outside the allowed set is a `ConfigError` naming the file,
line, key and what is allowed. A value that means more than its text (a time
zone, a time of day, a time range, a web or e-mail address, a path) becomes a typed value once, at
the door (config.values, config.typed). No config file at all means every default. The running
service starts on the last good config when the file is bad (config.lastgood).
"""

from companion.config.lastgood import LAST_GOOD, Choice, accept, config_choices, load_settings_or_last_good
from companion.config.parse import load_settings, parse_lenient, parse_settings
from companion.config.paths import data_dir, default_config_path, models_dir
from companion.config.sections import (
                                       AudioSettings,
                                       CaregiverSettings,
                                       ConversationSettings,
                                       EmotionSettings,
                                       GpioSettings,
                                       LlmSettings,
                                       MemorySettings,
                                       RoutinesSettings,
                                       SafetySettings,
                                       Settings,
                                       SttSettings,
                                       TtsSettings,
                                       VadSettings,
                                       WakeSettings,
)

__all__ = ["LAST_GOOD", "AudioSettings", "Choice", "accept", "config_choices", "parse_lenient", "CaregiverSettings", "ConversationSettings", "EmotionSettings",
           "GpioSettings", "LlmSettings", "MemorySettings", "RoutinesSettings", "SafetySettings", "Settings",
           "SttSettings", "TtsSettings", "VadSettings", "WakeSettings", "data_dir", "default_config_path",
           "load_settings", "load_settings_or_last_good", "models_dir", "parse_settings"]
