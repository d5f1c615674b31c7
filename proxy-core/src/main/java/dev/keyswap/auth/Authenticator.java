package dev.keyswap.auth;

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
    private final String adminToken;
    private final CompletableFuture<Optional<ApiKey>> adminKey;

    /** @param adminToken {@code auth.admin_token}, or null/blank for none */
    public Authenticator(TokenHasher hasher, TokenCache cache, String adminToken) {
        this.hasher = hasher;
        this.cache = cache;
        this.adminToken = adminToken == null || adminToken.isBlank() ? null : adminToken;
        this.adminKey = CompletableFuture.completedFuture(Optional.of(new ApiKey("key_bootstrap_admin", "act_admin",
                "bootstrap admin token", Set.of(ApiKey.SCOPE_ADMIN, ApiKey.SCOPE_PROXY), Set.of(), true, null,
                null, null, Instant.EPOCH, null, Set.of())));
    }

    /** Completed at once for the admin token, malformed tokens and cache hits. */
    public CompletableFuture<Optional<ApiKey>> lookup(String token) {
        CompletableFuture<Optional<ApiKey>> settled = adminOrMalformed(token);
        return settled != null ? settled : cache.get(hasher.hash(token));
    }

    /** The answer for the admin token or a malformed one, which never reach the cache; else null. */
    private CompletableFuture<Optional<ApiKey>> adminOrMalformed(String token) {
        if (adminToken != null && sameToken(adminToken, token)) {
            return adminKey;
        }
        return TokenFormat.isWellFormed(token) ? null : NONE;
    }

    /** Lookups for one client connection; see {@link ConnectionTokens}. */
    public ConnectionTokens forConnection() {
        return new ConnectionTokens();
    }

    /**
     * Lookups for one client connection. SDKs and agents send the same token on every request of a
     * keep-alive connection, so this remembers the keyed hash of the last well-formed token it was
     * given: a repeat skips the format check and the HMAC (~0.8 of the token check's ~1.1 µs, JMH
     * {@code TokenCheckBenchmark}) and goes straight to the cache, which still decides every time:
     * revocation, refresh and expiry work exactly as without it. Tokens are compared in constant
     * time, since one connection (from a load balancer) may carry several clients' requests. Not
     * thread-safe: one per channel, used on its event loop.
     */
    public final class ConnectionTokens {
        private String lastToken;
        private byte[] lastHash;

        private ConnectionTokens() {
        }

        /** As {@link Authenticator#lookup}. */
        public CompletableFuture<Optional<ApiKey>> lookup(String token) {
            if (lastToken != null && sameToken(lastToken, token)) {
                return cache.get(lastHash);
            }
            CompletableFuture<Optional<ApiKey>> settled = adminOrMalformed(token);
            if (settled != null) {
                return settled;
            }
            lastHash = hasher.hash(token);
            lastToken = token;
            return cache.get(lastHash);
        }
    }

    /**
     * Equality in time that depends only on the lengths, so a caller cannot learn how much of a
     * valid token its guess matched. (Comparing chars is comparing the UTF-8 bytes: the encoding is
     * one-to-one.)
     */
    static boolean sameToken(String a, String b) {
        if (a.length() != b.length()) {
            return false;
        }
        int diff = 0;
        for (int i = 0; i < a.length(); i++) {
            diff |= a.charAt(i) ^ b.charAt(i);
        }
        return diff == 0;
    }

    public TokenHasher hasher() {
        return hasher;
    }

    public TokenCache cache() {
        return cache;
    }
}
