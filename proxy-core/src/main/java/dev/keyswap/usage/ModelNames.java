package dev.keyswap.usage;

import java.nio.charset.StandardCharsets;

/**
 * One String per model name that responses keep reporting. Each response's extractor used to make
 * its own copy of, say, {@code "gpt-4o-mini"}, and the usage writer then hashed that new String
 * again for the price table, the row's dimensions and the daily sums. Handing out the String made
 * last time for the same bytes means one hash per name, and equal names that are the same object.
 *
 * <p>A small table shared by every event loop, without locks: a slot is read and written as one
 * reference, and a String is safe to publish that way (its fields are final). Two threads racing
 * for a slot at worst make one more String. Names that collide on a slot replace each other; every
 * answer still spells the bytes it was asked for.
 */
final class ModelNames {
    /** Well above the models one deployment calls in the same hours; a power of two. */
    private static final int SLOTS = 256;
    private static final String[] RECENT = new String[SLOTS];

    private ModelNames() {
    }

    /** The String of {@code length} bytes of ISO-8859-1 (ASCII) text. */
    static String of(byte[] latin1, int length) {
        int hash = 0; // String.hashCode's, for a Latin-1 String
        for (int i = 0; i < length; i++) {
            hash = 31 * hash + (latin1[i] & 0xff);
        }
        int slot = (hash ^ (hash >>> 16)) & (SLOTS - 1);
        String known = RECENT[slot];
        if (known != null && known.hashCode() == hash && spells(known, latin1, length)) {
            return known;
        }
        String made = new String(latin1, 0, length, StandardCharsets.ISO_8859_1);
        RECENT[slot] = made;
        return made;
    }

    /** {@code known} is the text of {@code length} bytes of ISO-8859-1. */
    static boolean spells(String known, byte[] latin1, int length) {
        if (known.length() != length) {
            return false;
        }
        for (int i = 0; i < length; i++) {
            if (known.charAt(i) != (latin1[i] & 0xff)) {
                return false;
            }
        }
        return true;
    }
}
