package dev.keyswap.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Token value → key record: the configured bootstrap admin token, else a well-formed
 * {@code ptk_} token looked up by its keyed hash. A malformed token never reaches the database.
 */
public final class Authenticator {
    private static final CompletableFuture<Optional<ApiKey>> NONE = CompletableFuture.completedFuture(Optional.empty());
    private final TokenHasher hasher;
    private final TokenCache cache;
    private final byte[] adminToken;
    private final CompletableFuture<Optional<ApiKey>> adminKey;

    /** @param adminToken {@code auth.admin_token}, or null/blank for none */
    public Authenticator(TokenHasher hasher, TokenCache cache, String adminToken) {
        this.hasher = hasher;
        this.cache = cache;
        this.adminToken = adminToken == null || adminToken.isBlank() ? null : adminToken.getBytes(StandardCharsets.UTF_8);
        this.adminKey = CompletableFuture.completedFuture(Optional.of(new ApiKey("key_bootstrap_admin", "act_admin",
                "bootstrap admin token", Set.of(ApiKey.SCOPE_ADMIN, ApiKey.SCOPE_PROXY), Set.of(), true, null,
                null, null, Instant.EPOCH, null, Set.of())));
    }

    /** Completed at once for the admin token, malformed tokens and cache hits. */
    public CompletableFuture<Optional<ApiKey>> lookup(String token) {
        if (adminToken != null && MessageDigest.isEqual(adminToken, token.getBytes(StandardCharsets.UTF_8))) {
            return adminKey;
        }
        if (!TokenFormat.isWellFormed(token)) {
            return NONE;
        }
        return cache.get(hasher.hash(token));
    }

    public TokenHasher hasher() {
        return hasher;
    }

    public TokenCache cache() {
        return cache;
    }
}
