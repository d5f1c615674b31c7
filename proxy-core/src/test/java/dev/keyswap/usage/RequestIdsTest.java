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
    }
}
