"""The counter staff client: a local Vietnamese web page, a scanner session, and a spool on disk.

`station.spool` keeps every scanned page on disk (fsync) before the page shows it;
`station.delivery` sends submissions to the embedded pipeline or to a central server's ingest API
with retries and an idempotency key; `station.app` is the FastAPI app behind `sohoa station`
(recognition tied to the batch version it was made for); `station.lookup` reads receipts and
checks dossier codes (Circular 01/2018/TT-VPCP); `station.dates` reads dates as clerks type them;
`station.setup` checks the set-up before the page opens (`sohoa station`,
`sohoa.commands.station`).
"""
