package dev.keyswap.store;

/**
 * The names operators give tokens and connections. They are printed one record per line by
 * {@code keys list} and {@code connections list}, whose lines scripts read by their first field,
 * so a name must not be able to start a line of its own.
 */
final class DisplayNames {
    /** Long enough for any label; short enough that a list stays readable. */
    static final int MAX_LENGTH = 200;

    private DisplayNames() {
    }

    /**
     * @throws IllegalArgumentException if {@code name} is blank, too long, or holds a control
     *         character or a Unicode line or paragraph separator (the message never quotes it)
     */
    static void check(String field, String name) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException(field + ": required and may not be blank");
        }
        if (name.length() > MAX_LENGTH) {
            throw new IllegalArgumentException(field + ": at most " + MAX_LENGTH + " characters");
        }
        for (int i = 0; i < name.length(); i++) {
            char ch = name.charAt(i);
            if (Character.isISOControl(ch) || ch == 0x2028 || ch == 0x2029) {
                throw new IllegalArgumentException(field + ": may not hold a control character or a line break");
            }
        }
    }
}
