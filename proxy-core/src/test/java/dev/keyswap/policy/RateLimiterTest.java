package dev.keyswap.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** GCRA per key on a clock the test moves: the burst, the refusal, the spacing after it, the headers' figures. */
class RateLimiterTest {
    private static final long SECOND = 1_000_000_000L;

    @Test
    void aKeyBurstsItsLimitThenWaitsOneIntervalPerRequest() {
        RateLimiter limiter = new RateLimiter();
        long t = 1_000 * SECOND;
        for (int i = 0; i < 6; i++) {
            RateLimiter.Decision d = limiter.acquire("k", 6, t);
            assertTrue(d.allowed(), "request " + i + " of the burst");
            assertEquals(6, d.limit());
            assertEquals(5 - i, d.remaining(), "request " + i);
        }
        RateLimiter.Decision refused = limiter.acquire("k", 6, t);
        assertFalse(refused.allowed());
        assertEquals(0, refused.remaining());
        assertEquals(10, refused.retryAfterSeconds(), "6 rpm: one request every 10 s");
        assertFalse(limiter.acquire("k", 6, t + 9 * SECOND).allowed());
        assertTrue(limiter.acquire("k", 6, t + 10 * SECOND).allowed());
        assertTrue(limiter.acquire("other", 6, t).allowed(), "keys are limited apart");
    }

    @ParameterizedTest
    @ValueSource(ints = {Integer.MAX_VALUE, 2_142_857_143, 1_000_000_000})
    void theLargestLimitsCountWhatRemainsWithoutOverflow(int rpm) {
        // The quotient passes Integer.MAX_VALUE near the top; cast first, it came out negative.
        RateLimiter.Decision d = new RateLimiter().acquire("k", rpm, 1_000 * SECOND);
        assertTrue(d.allowed());
        assertTrue(d.remaining() >= 0 && d.remaining() <= rpm - 1, "remaining " + d.remaining());
        assertTrue(d.remaining() > rpm / 2, "almost all of the burst is left: " + d.remaining());
    }
}
