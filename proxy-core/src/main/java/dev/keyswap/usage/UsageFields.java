package dev.keyswap.usage;

/**
 * What one response has reported so far. Each setter keeps the last non-null value, because
 * providers repeat and refine these fields as a stream goes on (Anthropic's final
 * {@code message_delta} carries the real output count, Gemini repeats usageMetadata in every
 * chunk).
 */
final class UsageFields {
    private String model;
    private Long inputTokens;
    private Long outputTokens;

    void model(String value) {
        if (value != null) {
            model = value;
        }
    }

    String model() {
        return model;
    }

    void inputTokens(long value) {
        inputTokens = value;
    }

    void outputTokens(long value) {
        outputTokens = value;
    }

    /** A complete usage report with no output count (embeddings): zero, unless one was seen. */
    void noOutputTokens() {
        if (outputTokens == null) {
            outputTokens = 0L;
        }
    }

    void clear() {
        model = null;
        inputTokens = null;
        outputTokens = null;
    }

    TokenUsage toTokenUsage() {
        if (model == null && inputTokens == null && outputTokens == null) {
            return TokenUsage.NONE;
        }
        return new TokenUsage(model, inputTokens, outputTokens);
    }
}
