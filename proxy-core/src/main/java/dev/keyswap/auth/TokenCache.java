package dev.keyswap.auth;

import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
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
    /** A cached answer and when it was loaded ({@link System#nanoTime}). */
    public record Entry(Optional<ApiKey> key, long loadedNanos) {
    }

    private final AsyncLoadingCache<TokenHash, Entry> cache;
    private final long refreshNanos;
    /**
     * Bumped after every invalidation, so an answer remembered outside the cache can tell it may be
     * void: whoever reads it before asking the cache either got the fresh answer or sees it change.
     */
    private final AtomicLong generation = new AtomicLong();

    public TokenCache(Function<byte[], Optional<ApiKey>> loader, Executor loaderExecutor,
                      Duration positiveTtl, Duration negativeTtl, long maxEntries) {
        long positive = positiveTtl.toNanos();
        long negative = negativeTtl.toNanos();
        this.refreshNanos = Math.max(1, positive / 2);
        this.cache = Caffeine.newBuilder()
                .maximumSize(maxEntries)
                // Loads go to the JDBC executor (below); Caffeine's own bookkeeping runs on the
                // thread that touched the cache. Handing it to the executor woke a JDBC thread every
                // few dozen hits: a futex wake and a context switch for a few microseconds of work.
                .executor(Runnable::run)
                .refreshAfterWrite(Duration.ofNanos(refreshNanos))
                .expireAfter(new Expiry<TokenHash, Entry>() {
                    @Override
                    public long expireAfterCreate(TokenHash k, Entry v, long now) {
                        return v.key().isPresent() ? positive : negative;
                    }

                    @Override
                    public long expireAfterUpdate(TokenHash k, Entry v, long now, long current) {
                        return v.key().isPresent() ? positive : negative;
                    }

                    @Override
                    public long expireAfterRead(TokenHash k, Entry v, long now, long current) {
                        return current;
                    }
                })
                .buildAsync((key, executor) -> CompletableFuture.supplyAsync(
                        () -> new Entry(loader.apply(key.bytes), System.nanoTime()), loaderExecutor));
    }

    /** Completed at once on a hit. */
    public CompletableFuture<Optional<ApiKey>> get(byte[] tokenHash) {
        return entry(tokenHash).thenApply(Entry::key);
    }

    /** As {@link #get}, with the answer's load time. */
    public CompletableFuture<Entry> entry(byte[] tokenHash) {
        return cache.get(new TokenHash(tokenHash));
    }

    /**
     * How long after its load an answer may be used without asking the cache again: until the
     * cache itself would refresh it. Reusing a known key that long keeps every bound above, since
     * the cache hands out the same answer until its refresh completes.
     */
    public long reuseNanos() {
        return refreshNanos;
    }

    /** Changes whenever an entry is invalidated: an answer remembered under another value is void. */
    public long generation() {
        return generation.get();
    }

    /** Drops an entry (after a local revoke or update) so the next request reloads it. */
    public void invalidate(byte[] tokenHash) {
        cache.synchronous().invalidate(new TokenHash(tokenHash));
        generation.incrementAndGet();
    }

    public void invalidateAll() {
        cache.synchronous().invalidateAll();
        generation.incrementAndGet();
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
