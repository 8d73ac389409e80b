"""How many alternatives compare mode samples: constants only, so the command line's parser can name them without
importing the agent (and with it the anthropic SDK)."""

MIN_ALTERNATIVES = 2
MAX_ALTERNATIVES = 4
DEFAULT_ALTERNATIVES = 3
