package dev.keyswap.route;

/** Where an upstream API expects its credential. */
public enum CredentialSlot {
    /** {@code Authorization: Bearer <key>} (OpenAI and most OpenAI-style APIs). */
    BEARER("authorization"),
    /** {@code x-api-key: <key>} (Anthropic). */
    X_API_KEY("x-api-key"),
    /** {@code x-goog-api-key: <key>}, or {@code ?key=} when the client used the query slot (Gemini). */
    X_GOOG_API_KEY("x-goog-api-key"),
    /** {@code api-key: <key>} (Azure OpenAI). */
    API_KEY("api-key");

    private final String headerName;

    CredentialSlot(String headerName) {
        this.headerName = headerName;
    }

    public String headerName() {
        return headerName;
    }

    /** Parses the config spelling: bearer, x-api-key, x-goog-api-key, api-key. */
    public static CredentialSlot parse(String name) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "bearer", "authorization" -> BEARER;
            case "x-api-key" -> X_API_KEY;
            case "x-goog-api-key" -> X_GOOG_API_KEY;
            case "api-key" -> API_KEY;
            default -> throw new IllegalArgumentException(
                    "unknown credential slot '" + name + "' (expected bearer, x-api-key, x-goog-api-key or api-key)");
        };
    }
}
