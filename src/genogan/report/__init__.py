"""The HTML report's own pages: the landing page with the answer, and tables readable inside the
report (not only as TSV downloads)."""
