-- tongban on PostgreSQL, schema version 1: everything a gateway keeps, shared by every
-- instance of one gateway. Applied by `tongban storage migrate --postgres URL` in one
-- transaction and recorded in tongban_schema. Never edit a migration once released: add the
-- next file (0002_….sql) instead.
--
-- Text keys are compared byte by byte (COLLATE "C"), as the embedded store orders them, so
-- "newest first" and copies between the two backends agree whatever the database's locale.

-- Each source platform's application number, claimed once for one gateway number.
CREATE TABLE tongban_claims (
    source      text COLLATE "C" NOT NULL,
    source_no   text COLLATE "C" NOT NULL,
    gateway_no  text COLLATE "C" NOT NULL,
    PRIMARY KEY (source, source_no)
);

-- The gateway's record of each application (the JSON the status API shows), and the USCC of
-- the office that accepted it (NULL in records written before it was kept).
CREATE TABLE tongban_records (
    gateway_no  text COLLATE "C" PRIMARY KEY,
    office      text COLLATE "C",
    record      jsonb NOT NULL
);
-- An office's work list, newest first.
CREATE INDEX tongban_records_office ON tongban_records (office, gateway_no)
    WHERE office IS NOT NULL;

-- The exact bytes of each document of an application, by kind.
CREATE TABLE tongban_documents (
    gateway_no  text COLLATE "C" NOT NULL,
    kind        text COLLATE "C" NOT NULL CHECK (kind IN (
                    'application-received', 'application-sent', 'decision-received',
                    'decision-sent', 'application-signature', 'decision-signature')),
    content     bytea NOT NULL,
    PRIMARY KEY (gateway_no, kind)
);

-- Outgoing deliveries. `due` (Unix ms) is set while a job is pending, NULL once in flight,
-- delivered or failed; an instance that takes a due job leases it (lease_owner, lease_until
-- in Unix ms) so no other instance sends it until the lease runs out.
CREATE TABLE tongban_outbox (
    id          text COLLATE "C" PRIMARY KEY,
    state       text NOT NULL CHECK (state IN ('pending', 'in_flight', 'delivered', 'failed')),
    due         bigint,
    lease_owner text,
    lease_until bigint,
    job         jsonb NOT NULL,
    CHECK ((state = 'pending') = (due IS NOT NULL))
);
-- Finding due work never reads finished jobs.
CREATE INDEX tongban_outbox_due ON tongban_outbox (due, id) WHERE due IS NOT NULL;

-- The ledger's own key-value layout (tiles, entry bundles, checkpoints, `size`; see
-- src/ledger/log.rs), byte keys in byte order.
CREATE TABLE tongban_ledger (
    key    bytea PRIMARY KEY,
    value  bytea NOT NULL
);

-- The one row every batch of every instance locks (SELECT … FOR UPDATE) from its start to its
-- commit: one writer at a time, so one total order of ledger entries across instances.
CREATE TABLE tongban_writer (
    id  integer PRIMARY KEY CHECK (id = 1)
);
INSERT INTO tongban_writer (id) VALUES (1);

-- Gateway numbers' sequence. Each nextval hands an instance a block of 64 numbers (the value
-- and the 63 after it), so numbers are unique across instances and increasing in each.
CREATE SEQUENCE tongban_sequence AS bigint INCREMENT BY 64 MINVALUE 1 START WITH 1;
