package dev.keyswap.store;

import dev.keyswap.connect.Connection;
import dev.keyswap.vault.Vault;
import java.util.List;
import java.util.Optional;

/** Blocking repository for connections and their sealed secrets; call it on the JDBC executor. */
public final class ConnectionStore {
    public ConnectionStore(Database db, Vault vault) {
        throw new UnsupportedOperationException("TODO helper H2");
    }

    /** Stores the connection and its secrets (pool order as given), each sealed for its own row, in one transaction. */
    public void create(Connection connection, List<String> secrets) {
        throw new UnsupportedOperationException("TODO helper H2");
    }

    public Optional<Connection> get(String id) {
        throw new UnsupportedOperationException("TODO helper H2");
    }

    /** Connections of one actor, or of all actors when actorId is null; oldest first. */
    public List<Connection> list(String actorId) {
        throw new UnsupportedOperationException("TODO helper H2");
    }

    /** The actor's newest connection for a catalog provider. */
    public Optional<Connection> findForProvider(String actorId, String provider) {
        throw new UnsupportedOperationException("TODO helper H2");
    }

    /**
     * The connection's secrets, opened, in pool order.
     * @throws dev.keyswap.vault.VaultException when any is tampered or moved
     */
    public List<String> openSecrets(Connection connection) {
        throw new UnsupportedOperationException("TODO helper H2");
    }

    /** Masked secrets for display ("sk-p…a1b2"), in pool order. */
    public List<String> maskedSecrets(Connection connection) {
        throw new UnsupportedOperationException("TODO helper H2");
    }

    /** @return false when no such connection for that actor (null actor: any) */
    public boolean delete(String id, String actorId) {
        throw new UnsupportedOperationException("TODO helper H2");
    }

    /** "cn_" + 16 base62 characters. */
    public static String newId() {
        throw new UnsupportedOperationException("TODO helper H2");
    }
}
