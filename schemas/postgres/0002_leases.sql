-- tongban on PostgreSQL, schema version 2.

-- Leases: of several instances, the one holding a lease does what it guards (asking the
-- witnesses to cosign the ledger's checkpoints), taking it over when its holder stops
-- renewing it. Times are the database's own clock, the one clock every instance shares.
CREATE TABLE tongban_leases (
    name    text COLLATE "C" PRIMARY KEY,
    holder  text NOT NULL,
    until   timestamptz NOT NULL
);

-- From this version on, a leased job's `due` is the end of its lease (written by the gateway,
-- no schema change): a job is due when it is pending and no instance holds it.

-- The outbox's jobs not yet finished, which every instance counts for its pending gauge:
-- counted from this index alone, however many finished jobs the table keeps.
CREATE INDEX tongban_outbox_open ON tongban_outbox (id)
    WHERE state IN ('pending', 'in_flight');
