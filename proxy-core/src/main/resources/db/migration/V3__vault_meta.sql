-- The vault's own records. 'current_key' holds, in key_id, the check value of the master key the
-- database belongs to (nonce and ciphertext NULL), so a start with the wrong key is refused
-- before anything is read or written. 'token_pepper' is the token hashing pepper, sealed for
-- actor "system" and row id = name, so rotating the master key re-seals it instead of changing
-- it, and tokens keep working. Rotation re-seals this table like every other sealed table.

CREATE TABLE vault_meta (
    name       TEXT PRIMARY KEY,
    key_id     TEXT,
    nonce      BLOB,
    ciphertext BLOB,
    updated_at BIGINT
);
