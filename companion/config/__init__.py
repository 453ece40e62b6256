"""The config file (TOML) → frozen, validated settings, parsed once at start.

Every section is a frozen dataclass whose fields carry their unit in the name
(config.sections). Validation is strict (config.parse): an unknown key, a wrong
type or a value outside the allowed set is a `ConfigError` naming the file,
line, key and what is allowed. A value that means more than its text (a time
zone, a time of day, a time range) becomes a typed value once, at the door
(config.values). No config file at all means every default.
"""

from companion.config.parse import LAST_GOOD, load_settings, load_settings_or_last_good, parse_settings
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

__all__ = ["LAST_GOOD", "AudioSettings", "CaregiverSettings", "ConversationSettings", "EmotionSettings",
           "GpioSettings", "LlmSettings", "MemorySettings", "RoutinesSettings", "SafetySettings", "Settings",
           "SttSettings", "TtsSettings", "VadSettings", "WakeSettings", "data_dir", "default_config_path",
           "load_settings", "load_settings_or_last_good", "models_dir", "parse_settings"]
