package dev.keyswap.pipeline;

import dev.keyswap.policy.RateLimiter;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.util.AsciiString;
import java.util.Map;

/**
 * Enforces the key's requests-per-minute limit and reports it in the IETF RateLimit header
 * fields on every response, with {@code Retry-After} on a 429.
 */
public final class RateLimitStep implements HeadStep {
    static final AsciiString LIMIT = AsciiString.cached("ratelimit-limit");
    static final AsciiString REMAINING = AsciiString.cached("ratelimit-remaining");
    static final AsciiString RESET = AsciiString.cached("ratelimit-reset");

    private final RateLimiter limiter;

    public RateLimitStep(RateLimiter limiter) {
        this.limiter = limiter;
    }

    @Override
    public void onHead(HeadSteps steps, InboundRequest request) {
        if (request.apiKey.rateLimitRpm() != null) {
            RateLimiter.Decision d = limiter.acquire(request.apiKey.id(), request.apiKey.rateLimitRpm(), System.nanoTime());
            request.responseHeaders.add(Map.entry(LIMIT, Integer.toString(d.limit())));
            request.responseHeaders.add(Map.entry(REMAINING, Integer.toString(d.remaining())));
            request.responseHeaders.add(Map.entry(RESET, Long.toString(d.resetSeconds())));
            if (!d.allowed()) {
                request.responseHeaders.add(Map.entry(HttpHeaderNames.RETRY_AFTER, Long.toString(d.retryAfterSeconds())));
                Responses.error(steps.ctx(), request, ProxyError.rateLimited("rate_limit_exceeded",
                        "rate limit of " + d.limit() + " requests per minute exceeded; retry after " + d.retryAfterSeconds() + " s"));
                return;
            }
        }
        steps.proceed(request);
    }
}
