"""Customer grading and credit: tenant-configurable rules (RFM and weighted score, bands A–E), grades with their history, credit limits and their change applications."""
