package dev.keyswap.store;

/** A storage operation failed; the cause is usually an {@link java.sql.SQLException}. */
public final class StoreException extends RuntimeException {
    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }

    public StoreException(String message) {
        super(message);
    }
}
