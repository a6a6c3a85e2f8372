-- Prefect's own database beside the ledger (compose.yaml mounts this into the postgres image).
CREATE DATABASE prefect OWNER bumpline;
