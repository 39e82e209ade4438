"""Back-office capture of the backlog: stacks scanned in one go and folders of old scans.

A top-level part beside `station/` and `quotas/` (not inside `pipeline/`): it drives scanners,
looks at pages (ocr/ helpers), keeps its own on-disk spool and its journal tables in the
catalog, and hands each finished document to the pipeline through its public submit function
— the pipeline stays one document at a time and knows nothing of batches.

- `batch.separator`: the separator sheet (QR code, optional dossier code) and its detection;
- `batch.pages`: what a page is in a stack (separator, blank, first page of a document, other);
- `batch.split`: stack → documents (separator / blank / first-page), collation of two passes,
  moving a boundary;
- `batch.spool`: a batch on disk (page images, page facts, the split), resumable;
- `batch.journal`, `batch.models`: batches and their items (stored, held for review, refused
  with reason) in the catalog; `batch.legacy`: a home's former journal file, taken in once;
- `batch.commit`: split documents → PDFs → pipeline; `batch.importer`: bulk import of folders.
"""
