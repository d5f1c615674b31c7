package dev.keyswap.server.config;

/** A config problem, with a message that names the key and says what is expected. */
public final class ConfigException extends RuntimeException {
    public ConfigException(String message) {
        super(message);
    }
}
