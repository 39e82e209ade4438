"""Archive records of digitized results (Circular 05/2025/TT-BNV): the records managers'
commands and the import of archive lists. The data and its queries live in storage.records."""
