package dev.keyswap.connect;

/** How a connection's secret is presented to its upstream (SPEC §2 connections). */
public enum AuthType {
    /** {@code Authorization: Bearer <secret>} */
    BEARER,
    /** {@code <authParam>: <secret>} (a header the API names, e.g. x-api-key) */
    API_KEY,
    /** {@code Authorization: Basic base64(<secret>)}, the secret being "user:password" */
    BASIC,
    /** {@code Authorization: Bearer <secret>} for an OAuth 2 access token */
    OAUTH2_TOKEN,
    /** {@code ?<authParam>=<secret>} */
    QUERY,
    /** no credential */
    NONE
}
