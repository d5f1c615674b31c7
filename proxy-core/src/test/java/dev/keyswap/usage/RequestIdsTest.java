package dev.keyswap.usage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The ids Keyswap makes are the ids its usage store recognises, and their two integers spell them back. */
class RequestIdsTest {
    @Test
    void madeIdsAreOwnAndTheirIntegersPrintBackAsTheViewDoes() {
        for (int i = 0; i < 1000; i++) {
            String id = RequestIds.next();
            assertTrue(RequestIds.isOwn(id), id);
            // The usage_records view's printf('req_%016x%08x', request_hi, request_lo) (V7).
            assertEquals(id, String.format("req_%016x%08x", RequestIds.high(id), RequestIds.low(id)));
        }
    }

    @Test
    void nearMissesAreNotOwn() {
        String own = "req_0123456789abcdef01234567";
        assertTrue(RequestIds.isOwn(own));
        for (String other : new String[] {null, "", "req_0123456789ABCDEF01234567", "req_0123456789abcdef0123456",
            "req_0123456789abcdef012345678", "rex_0123456789abcdef01234567", "req_0123456789abcdeg01234567"}) {
            assertFalse(RequestIds.isOwn(other), String.valueOf(other));
        }
        // Every other character in every digit position: ASCII, and characters past it (whose low
        // byte would be a digit, and one past the Latin-1 range).
        char[] others = {'/', ':', '@', 'G', '`', 'g', '0' + 0x100, 'a' + 0x100, (char) 0xE1, (char) 0xFF10};
        for (int at = 4; at < own.length(); at++) {
            for (char ch : others) {
                String other = own.substring(0, at) + ch + own.substring(at + 1);
                assertFalse(RequestIds.isOwn(other), other);
            }
        }
    }

    @Test
    void integersAreTheDigitsBits() {
        assertEquals(0x0123456789abcdefL, RequestIds.high("req_0123456789abcdef01234567"));
        assertEquals(0x01234567L, RequestIds.low("req_0123456789abcdef01234567"));
        assertEquals(-1L, RequestIds.high("req_ffffffffffffffffffffffff"));
        assertEquals(0xffffffffL, RequestIds.low("req_ffffffffffffffffffffffff"));
        assertEquals(Long.MIN_VALUE, RequestIds.high("req_800000000000000000000000"));
    }
}
