package dev.keyswap.usage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Request ids have their documented form and do not repeat. */
class RequestIdsTest {
    @Test
    void idsAreReqAnd24LowercaseHexDigitsAndDistinct() {
        Set<String> seen = new HashSet<>();
        Set<Character> digitsSeen = new HashSet<>();
        for (int i = 0; i < 10_000; i++) {
            String id = RequestIds.next();
            assertTrue(id.matches("req_[0-9a-f]{24}"), id);
            assertTrue(seen.add(id), "repeated " + id);
            for (char ch : id.substring(4).toCharArray()) {
                digitsSeen.add(ch);
            }
        }
        assertEquals(16, digitsSeen.size(), "every hex digit appears in some id: " + digitsSeen);
    }
}
