package dev.keyswap.store;

import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.keyswap.auth.ApiKey;
import dev.keyswap.connect.Connection;
import dev.keyswap.connect.ConnectionDirectory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/**
 * {@link ConnectionDirectory} over the connection and split-key tables. Connection records (no
 * secrets) are cached for {@code ttl}, so a change or a deletion reaches the data plane within
 * that bound and the common case, no connection at all, is a cache hit. Secrets and split keys
 * are read and opened on the JDBC executor for each request and never cached.
 */
public final class StoredConnectionDirectory implements ConnectionDirectory {
    private final ConnectionStore connections;
    private final SplitKeyStore splitKeys;
    private final Executor jdbc;
    private final AsyncLoadingCache<String, Optional<Connection>> byId;
    private final AsyncLoadingCache<ProviderLookup, List<Connection>> byProvider;

    private record ProviderLookup(String keyId, String actorId, java.util.Set<String> own, String provider) {
    }

    public StoredConnectionDirectory(ConnectionStore connections, SplitKeyStore splitKeys, Executor jdbc, Duration ttl) {
        this.connections = connections;
        this.splitKeys = splitKeys;
        this.jdbc = jdbc;
        this.byId = Caffeine.newBuilder().maximumSize(100_000).expireAfterWrite(ttl).executor(jdbc)
                .buildAsync(connections::get);
        this.byProvider = Caffeine.newBuilder().maximumSize(100_000).expireAfterWrite(ttl).executor(jdbc)
                .buildAsync(this::loadForProvider);
    }

    @Override
    public CompletableFuture<Optional<Connection>> byId(String id) {
        return byId.get(id);
    }

    @Override
    public CompletableFuture<List<Connection>> forProvider(ApiKey key, String provider) {
        return byProvider.get(new ProviderLookup(key.id(), key.actorId(), key.connections(), provider));
    }

    /**
     * Newest first, as the actor's fallback is chosen. The token's grants are a set, whose order
     * changes from one start to the next: taking the first of it made the choice between two
     * connections for one provider flip with restarts.
     */
    private List<Connection> loadForProvider(ProviderLookup lookup) {
        List<Connection> own = new ArrayList<>();
        for (String id : lookup.own()) {
            Optional<Connection> c = connections.get(id);
            if (c.isPresent() && lookup.provider().equals(c.get().provider()) && c.get().actorId().equals(lookup.actorId())) {
                own.add(c.get());
            }
        }
        if (own.isEmpty()) {
            return connections.findForProvider(lookup.actorId(), lookup.provider()).map(List::of).orElse(List.of());
        }
        own.sort(Comparator.comparing(Connection::createdAt).thenComparing(Connection::id).reversed());
        return List.copyOf(own);
    }

    @Override
    public CompletableFuture<List<String>> secrets(Connection connection) {
        return CompletableFuture.supplyAsync(() -> connections.openSecrets(connection), jdbc);
    }

    @Override
    public CompletableFuture<Optional<String>> splitKey(String id, String clientPart, ApiKey key, String provider) {
        return CompletableFuture.supplyAsync(() -> {
            Optional<SplitKeyStore.SplitKey> found = splitKeys.get(id);
            boolean mine = found.isPresent() && (found.get().actorId().equals(key.actorId()) || key.hasScope(ApiKey.SCOPE_ADMIN));
            if (!mine || found.get().revokedAt() != null || !found.get().provider().equals(provider)) {
                return Optional.<String>empty();
            }
            return splitKeys.open(id, clientPart);
        }, jdbc);
    }
}
