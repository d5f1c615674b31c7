package dev.keyswap.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;

class TokenFormatTest {
    private static final String ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /** Independent re-statement of the checksum: CRC32 of the ASCII prefix+body, 6 base62 digits. */
    private static String checksumOf(String prefixAndBody) {
        CRC32 crc = new CRC32();
        crc.update(prefixAndBody.getBytes(StandardCharsets.US_ASCII));
        long v = crc.getValue();
        char[] out = new char[6];
        for (int i = 5; i >= 0; i--) {
            out[i] = ALPHABET.charAt((int) (v % 62));
            v /= 62;
        }
        return new String(out);
    }

    @Test
    void newTokenHasPrefixFixedLengthAndBase62Alphabet() {
        String token = TokenFormat.newToken();
        assertEquals(53, token.length());
        assertEquals(TokenFormat.LENGTH, token.length());
        assertTrue(token.startsWith("ptk_"));
        assertTrue(token.substring(4).chars().allMatch(c -> ALPHABET.indexOf(c) >= 0), token);
    }

    @Test
    void checksumIsCrc32OfPrefixAndBodyInBase62() {
        String token = TokenFormat.newToken();
        assertEquals(checksumOf(token.substring(0, 47)), token.substring(47));
    }

    @Test
    void tenThousandNewTokensAreWellFormedAndDistinct() {
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            String token = TokenFormat.newToken();
            assertTrue(TokenFormat.isWellFormed(token), token);
            assertTrue(seen.add(token), "duplicate token");
        }
        assertEquals(10_000, seen.size());
    }

    @Test
    void wellFormednessAcceptsAnyCharSequence() {
        String token = TokenFormat.newToken();
        assertTrue(TokenFormat.isWellFormed(new StringBuilder(token)));
    }

    @Test
    void everySingleCharacterTypoIsRejected() {
        String token = TokenFormat.newToken();
        int rejected = 0;
        for (int pos = 0; pos < token.length(); pos++) {
            for (int a = 0; a < ALPHABET.length(); a++) {
                char c = ALPHABET.charAt(a);
                if (c == token.charAt(pos)) {
                    continue;
                }
                StringBuilder typo = new StringBuilder(token).replace(pos, pos + 1, String.valueOf(c));
                assertFalse(TokenFormat.isWellFormed(typo), "accepted typo at " + pos);
                rejected++;
            }
        }
        assertTrue(rejected > 53 * 60, "expected to try every substitution");
    }

    @Test
    void tamperedChecksumIsRejected() {
        String token = TokenFormat.newToken();
        String body = token.substring(0, 47);
        String checksum = token.substring(47);
        String other = checksum.equals("000000") ? "000001" : "000000";
        assertFalse(TokenFormat.isWellFormed(body + other));
    }

    @Test
    void transposedAdjacentCharactersAreRejected() {
        String token = TokenFormat.newToken();
        for (int pos = 4; pos < token.length() - 1; pos++) {
            char[] chars = token.toCharArray();
            if (chars[pos] == chars[pos + 1]) {
                continue;
            }
            char t = chars[pos];
            chars[pos] = chars[pos + 1];
            chars[pos + 1] = t;
            assertFalse(TokenFormat.isWellFormed(new String(chars)), "accepted transposition at " + pos);
        }
    }

    @Test
    void truncatedAndExtendedTokensAreRejected() {
        String token = TokenFormat.newToken();
        for (int len = 0; len < token.length(); len++) {
            assertFalse(TokenFormat.isWellFormed(token.substring(0, len)), "accepted prefix of length " + len);
            assertFalse(TokenFormat.isWellFormed(token.substring(token.length() - len)), "accepted suffix of length " + len);
        }
        assertFalse(TokenFormat.isWellFormed(token + "0"));
        assertFalse(TokenFormat.isWellFormed(" " + token));
    }

    @Test
    void wrongPrefixIsRejectedEvenWithAMatchingChecksum() {
        String body = TokenFormat.newToken().substring(4, 47);
        for (String prefix : new String[] {"ptk-", "PTK_", "pk__", "sk_x"}) {
            String forged = prefix + body + checksumOf(prefix + body);
            assertFalse(TokenFormat.isWellFormed(forged), forged);
        }
    }

    @Test
    void charactersOutsideBase62AreRejected() {
        String token = TokenFormat.newToken();
        for (char bad : new char[] {'-', '_', '+', '/', '=', ' ', 'é', '\u0000', '０'}) {
            String tampered = token.substring(0, 20) + bad + token.substring(21);
            assertFalse(TokenFormat.isWellFormed(tampered), "accepted " + (int) bad);
        }
    }

    @Test
    void nullAndEmptyAreRejected() {
        assertFalse(TokenFormat.isWellFormed(null));
        assertFalse(TokenFormat.isWellFormed(""));
    }

    @Test
    void checkingATokenDoesNotAllocateOnceCompiled() throws InterruptedException {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        String good = TokenFormat.newToken();
        String bad = good.substring(0, 52) + (good.charAt(52) == '0' ? '1' : '0');
        int accepted = 0;
        for (int i = 0; i < 200_000; i++) { // let C2 compile and scalar-replace the CRC32 local
            accepted += (TokenFormat.isWellFormed(good) ? 1 : 0) + (TokenFormat.isWellFormed(bad) ? 1 : 0);
        }
        long tid = Thread.currentThread().getId();
        // On a loaded machine C2 may not have compiled isWellFormed yet; measure in rounds and
        // judge the steady state (the best round), not how fast the JIT got to it.
        long allocated = Long.MAX_VALUE;
        for (int round = 0; round < 20 && allocated >= 200_000; round++) {
            if (round > 0) {
                Thread.sleep(100); // give a starved compiler thread the CPU
            }
            long before = threads.getThreadAllocatedBytes(tid);
            for (int i = 0; i < 100_000; i++) {
                accepted += (TokenFormat.isWellFormed(good) ? 1 : 0) + (TokenFormat.isWellFormed(bad) ? 1 : 0);
            }
            allocated = Math.min(allocated, threads.getThreadAllocatedBytes(tid) - before);
            assertEquals(200_000 + 100_000 * (round + 1), accepted, "the good token is always accepted, the bad one never");
        }
        assertTrue(allocated < 200_000, "allocated " + allocated + " bytes");
    }
}
