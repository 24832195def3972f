"""The record of one input: its fields, its verdict, and the run file that holds them."""
