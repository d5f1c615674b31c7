package dev.keyswap.store;

import java.security.SecureRandom;

/** Random row ids: a type prefix and base62 characters (16 of them carry about 95 bits). */
final class Ids {
    private static final String ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    private static final SecureRandom RANDOM = new SecureRandom();

    private Ids() {
    }

    static String random(String prefix, int chars) {
        char[] id = new char[chars];
        for (int i = 0; i < id.length; i++) {
            id[i] = ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length())); // nextInt(bound) is unbiased
        }
        return prefix + new String(id);
    }
}
