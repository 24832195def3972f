"""`probe report`: measures over records, their statistics, the terminal view and the HTML page."""
