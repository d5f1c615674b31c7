package dev.keyswap.vault;

/** A secret that cannot be opened: tampered, moved to another row, or sealed under a key not held. Never carries secret material. */
public final class VaultException extends RuntimeException {
    public VaultException(String message) {
        super(message);
    }
}
