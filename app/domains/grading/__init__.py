"""Customer grading and credit: tenant-configurable rules (RFM and a weighted score, grades A–E),
grades with their history, credit limits and their change applications."""
