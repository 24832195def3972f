"""What probe asks: the task's question, the words of prompts, and the variant declarations."""
