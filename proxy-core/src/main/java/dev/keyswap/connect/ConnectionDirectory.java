package dev.keyswap.connect;

import dev.keyswap.auth.ApiKey;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The data plane's view of stored credentials. Lookups of connection records (never secrets)
 * are cached briefly, so the common case, a token with no connections, costs no query; secrets
 * are opened per request on the JDBC executor and never cached.
 */
public interface ConnectionDirectory {

    /** A connection by id, whoever owns it (the caller checks ownership). */
    CompletableFuture<Optional<Connection>> byId(String id);

    /**
     * For {@code /{provider}/…}: the key's own connections for the provider, newest first (the
     * caller takes the first whose path rules allow the request); when it has none, its actor's
     * newest; else none.
     */
    CompletableFuture<List<Connection>> forProvider(ApiKey key, String provider);

    /** The connection's secrets, opened now, in pool order. Fails with VaultException when tampered. */
    CompletableFuture<List<String>> secrets(Connection connection);

    /**
     * A BYOK split key's provider key, when it belongs to the key's actor and this provider;
     * empty when unknown or revoked. Fails with VaultException for a wrong client part.
     */
    CompletableFuture<Optional<String>> splitKey(String id, String clientPart, ApiKey key, String provider);

    /** No stored credentials at all: only server keys. */
    static ConnectionDirectory none() {
        return new ConnectionDirectory() {
            @Override
            public CompletableFuture<Optional<Connection>> byId(String id) {
                return CompletableFuture.completedFuture(Optional.empty());
            }

            @Override
            public CompletableFuture<List<Connection>> forProvider(ApiKey key, String provider) {
                return CompletableFuture.completedFuture(List.of());
            }

            @Override
            public CompletableFuture<List<String>> secrets(Connection connection) {
                return CompletableFuture.completedFuture(List.of());
            }

            @Override
            public CompletableFuture<Optional<String>> splitKey(String id, String clientPart, ApiKey key, String provider) {
                return CompletableFuture.completedFuture(Optional.empty());
            }
        };
    }
}
