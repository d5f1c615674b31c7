package dev.keyswap.pipeline;

/** What bytes may appear where in an HTTP/1.1 head (RFC 9110 section 5), as lookup tables. */
final class HeaderBytes {
    /** tchar: the bytes of a field name (RFC 9110 section 5.6.2). */
    private static final boolean[] TOKEN = new boolean[256];
    /** A field value's bytes: VCHAR, obs-text, space and tab (RFC 9110 section 5.5); no other control. */
    private static final boolean[] VALUE = new boolean[256];

    static {
        for (int c = '0'; c <= '9'; c++) {
            TOKEN[c] = true;
        }
        for (int c = 'a'; c <= 'z'; c++) {
            TOKEN[c] = true;
            TOKEN[c - 32] = true;
        }
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
            TOKEN[c] = true;
        }
        for (int c = 0x21; c < 256; c++) {
            VALUE[c] = c != 0x7f;
        }
        VALUE[' '] = true;
        VALUE['\t'] = true;
    }

    private HeaderBytes() {
    }

    static boolean token(byte b) {
        return TOKEN[b & 0xff];
    }

    /** Whether every byte of {@code bytes[from, to)} is a tchar. */
    static boolean allToken(byte[] bytes, int from, int to) {
        boolean all = true;
        for (int i = from; i < to; i++) {
            all &= TOKEN[bytes[i] & 0xff];
        }
        return all;
    }

    static boolean value(byte b) {
        return VALUE[b & 0xff];
    }

    static boolean space(byte b) {
        return b == ' ' || b == '\t';
    }

    /** ASCII lower case; other bytes as they are. */
    static int lower(int b) {
        return b >= 'A' && b <= 'Z' ? b | 0x20 : b & 0xff;
    }

    /** Whether {@code bytes[from, to)} spells {@code lowerCaseWord}, ignoring ASCII case. */
    static boolean spells(byte[] bytes, int from, int to, byte[] lowerCaseWord) {
        return sameIgnoringCase(bytes, from, to, lowerCaseWord, 0, lowerCaseWord.length);
    }

    /** Whether {@code a[aFrom, aTo)} and {@code b[bFrom, bTo)} are the same bytes, ignoring ASCII case. */
    static boolean sameIgnoringCase(byte[] a, int aFrom, int aTo, byte[] b, int bFrom, int bTo) {
        if (aTo - aFrom != bTo - bFrom) {
            return false;
        }
        for (int i = aFrom, j = bFrom; i < aTo; i++, j++) {
            if (lower(a[i]) != lower(b[j])) {
                return false;
            }
        }
        return true;
    }
}
