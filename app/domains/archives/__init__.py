"""Customer archive volumes: cover, contents list, scanned pages in object storage, remarks sheet, filing under retention."""
