"""Where inputs come from and how one is loaded: text, images, JSONL sources."""
