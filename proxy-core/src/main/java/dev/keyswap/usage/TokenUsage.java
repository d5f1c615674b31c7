package dev.keyswap.usage;

/** What a response reported about itself; any field may be null. */
public record TokenUsage(String model, Long inputTokens, Long outputTokens) {
    public static final TokenUsage NONE = new TokenUsage(null, null, null);
}
