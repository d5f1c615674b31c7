package dev.keyswap.auth;

import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Function;

/**
 * Token hash → key record, in front of the database. A hit is a hash lookup on the event loop; a
 * miss loads on the JDBC executor and the caller resumes when the future completes.
 *
 * <p>Bounds, as documented in docs/tokens.md: a positive entry lives at most {@code positiveTtl}
 * (5 s by default) and is refreshed in the background after {@code positiveTtl / 2}, so a
 * revocation made anywhere (another instance, the CLI) takes effect within {@code positiveTtl};
 * expiry is checked against the clock on every request, so it is exact. Unknown tokens are cached
 * for {@code negativeTtl} so a flood of well-formed guesses cannot turn into a flood of queries.
 */
public final class TokenCache {
    private final AsyncLoadingCache<TokenHash, Optional<ApiKey>> cache;

    public TokenCache(Function<byte[], Optional<ApiKey>> loader, Executor loaderExecutor,
                      Duration positiveTtl, Duration negativeTtl, long maxEntries) {
        long positive = positiveTtl.toNanos();
        long negative = negativeTtl.toNanos();
        this.cache = Caffeine.newBuilder()
                .maximumSize(maxEntries)
                // Loads go to the JDBC executor (below); Caffeine's own bookkeeping runs on the
                // thread that touched the cache. Handing it to the executor woke a JDBC thread every
                // few dozen hits: a futex wake and a context switch for a few microseconds of work.
                .executor(Runnable::run)
                .refreshAfterWrite(Duration.ofNanos(Math.max(1, positive / 2)))
                .expireAfter(new Expiry<TokenHash, Optional<ApiKey>>() {
                    @Override
                    public long expireAfterCreate(TokenHash k, Optional<ApiKey> v, long now) {
                        return v.isPresent() ? positive : negative;
                    }

                    @Override
                    public long expireAfterUpdate(TokenHash k, Optional<ApiKey> v, long now, long current) {
                        return v.isPresent() ? positive : negative;
                    }

                    @Override
                    public long expireAfterRead(TokenHash k, Optional<ApiKey> v, long now, long current) {
                        return current;
                    }
                })
                .buildAsync((key, executor) -> CompletableFuture.supplyAsync(() -> loader.apply(key.bytes), loaderExecutor));
    }

    /** Completed at once on a hit. */
    public CompletableFuture<Optional<ApiKey>> get(byte[] tokenHash) {
        return cache.get(new TokenHash(tokenHash));
    }

    /** Drops an entry (after a local revoke or update) so the next request reloads it. */
    public void invalidate(byte[] tokenHash) {
        cache.synchronous().invalidate(new TokenHash(tokenHash));
    }

    public void invalidateAll() {
        cache.synchronous().invalidateAll();
    }

    private static final class TokenHash {
        final byte[] bytes;
        final int hash;

        TokenHash(byte[] bytes) {
            this.bytes = bytes;
            this.hash = Arrays.hashCode(bytes);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof TokenHash t && t.hash == hash && Arrays.equals(t.bytes, bytes);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }
}
