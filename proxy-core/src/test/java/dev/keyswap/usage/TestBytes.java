package dev.keyswap.usage;

import static java.nio.charset.StandardCharsets.UTF_8;

/** Byte arrays for the usage tests: UTF-8 text, and several pieces as one body. */
final class TestBytes {
    private TestBytes() {
    }

    static byte[] bytes(String text) {
        return text.getBytes(UTF_8);
    }

    static byte[] concat(byte[]... parts) {
        int length = 0;
        for (byte[] part : parts) {
            length += part.length;
        }
        byte[] all = new byte[length];
        int at = 0;
        for (byte[] part : parts) {
            System.arraycopy(part, 0, all, at, part.length);
            at += part.length;
        }
        return all;
    }
}
