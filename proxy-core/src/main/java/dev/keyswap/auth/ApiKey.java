package dev.keyswap.auth;

import java.time.Instant;
import java.util.Set;

/**
 * A Keyswap token's stored record (never its value).
 *
 * @param providers     provider names this key may call; empty means every provider
 * @param rateLimitRpm  requests per minute, or null for no limit
 * @param expiresAt     null for no expiry
 * @param revokedAt     null while not revoked
 * @param connections   connection ids this key may use; empty means none (unlike providers: a
 *                      connection is a tenant's own credential, so access is granted, never implied)
 */
public record ApiKey(
        String id,
        String actorId,
        String name,
        Set<String> scopes,
        Set<String> providers,
        boolean allowServerKeys,
        Integer rateLimitRpm,
        Instant expiresAt,
        Instant revokedAt,
        Instant createdAt,
        Instant lastUsedAt,
        Set<String> connections) {

    public static final String SCOPE_PROXY = "proxy";
    public static final String SCOPE_READ = "read";
    public static final String SCOPE_WRITE = "write";
    public static final String SCOPE_ADMIN = "admin";

    public ApiKey {
        scopes = Set.copyOf(scopes);
        providers = Set.copyOf(providers);
        connections = Set.copyOf(connections);
    }

    public boolean isRevoked() {
        return revokedAt != null;
    }

    public boolean isExpiredAt(Instant now) {
        return expiresAt != null && !now.isBefore(expiresAt);
    }

    public boolean hasScope(String scope) {
        return scopes.contains(scope) || scopes.contains(SCOPE_ADMIN);
    }

    public boolean allowsProvider(String provider) {
        return providers.isEmpty() || providers.contains(provider);
    }

    public boolean allowsConnection(String connectionId) {
        return connections.contains(connectionId);
    }
}
