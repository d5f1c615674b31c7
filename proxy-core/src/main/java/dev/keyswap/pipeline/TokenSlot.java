package dev.keyswap.pipeline;

/** Where the client put its Keyswap token (SPEC §1), in the order Keyswap looks. */
public enum TokenSlot {
    AUTHORIZATION_BEARER,
    X_API_KEY,
    X_GOOG_API_KEY,
    API_KEY,
    QUERY_KEY,
    WEBSOCKET_SUBPROTOCOL
}
