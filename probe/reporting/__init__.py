"""What `probe report` shows: the terminal view of the measures, the HTML page and its forest plot."""
