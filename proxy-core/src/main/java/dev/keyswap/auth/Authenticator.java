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
     * {@code TokenCheckBenchmark}). It also remembers the cache's answer for that token when it was
     * a known key, and reuses it until the cache would refresh it ({@link TokenCache#reuseNanos}
     * after it was loaded) or anything is invalidated: a repeat then skips the cache lookup too,
     * and revocation, refresh and expiry keep their bounds (docs/tokens.md). Unknown tokens always
     * ask the cache, whose shorter negative lifetime decides. Tokens are compared in constant time,
     * since one connection (from a load balancer) may carry several clients' requests. Not
     * thread-safe: one per channel, used on its event loop.
     */
    public final class ConnectionTokens {
        private String lastToken;
        private byte[] lastHash;
        /** The cache's answer for lastToken when it was a known key, else null. */
        private CompletableFuture<Optional<ApiKey>> lastKey;
        /** Until when (System.nanoTime()) lastKey may be reused, and the cache generation it was read at. */
        private long lastKeyUntil;
        private long lastKeyGeneration;

        private ConnectionTokens() {
        }

        /**
         * As {@link Authenticator#lookup}.
         *
         * @param nowNanos {@link System#nanoTime} at the request (its arrival is close enough)
         */
        public CompletableFuture<Optional<ApiKey>> lookup(String token, long nowNanos) {
            if (lastToken != null && sameToken(lastToken, token)) {
                if (lastKey != null && nowNanos - lastKeyUntil < 0 && cache.generation() == lastKeyGeneration) {
                    return lastKey;
                }
                return ask(nowNanos);
            }
            CompletableFuture<Optional<ApiKey>> settled = adminOrMalformed(token);
            if (settled != null) {
                return settled;
            }
            lastHash = hasher.hash(token);
            lastToken = token;
            return ask(nowNanos);
        }

        private CompletableFuture<Optional<ApiKey>> ask(long nowNanos) {
            lastKey = null;
            long generation = cache.generation(); // before the lookup: an invalidation racing it changes it after
            CompletableFuture<TokenCache.Entry> answer = cache.entry(lastHash);
            TokenCache.Entry hit = answer.isDone() && !answer.isCompletedExceptionally() ? answer.join() : null;
            if (hit == null) {
                return answer.thenApply(TokenCache.Entry::key);
            }
            CompletableFuture<Optional<ApiKey>> key = CompletableFuture.completedFuture(hit.key());
            long until = hit.loadedNanos() + cache.reuseNanos();
            if (hit.key().isPresent() && nowNanos - until < 0) {
                lastKey = key;
                lastKeyUntil = until;
                lastKeyGeneration = generation;
            }
            return key;
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
