package dev.keyswap.usage;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import org.junit.jupiter.api.Test;

class PriceTableTest {
    private static final PriceTable TABLE = load("""
            {
              "_comment": "examples",
              "gpt-4o": {"input": 2.5, "output": 10.0},
              "gpt-4o-mini": {"input": 0.15, "output": 0.6},
              "text-embedding-3-small": {"input": 0.02, "output": 0}
            }
            """);

    @Test
    void exactModelIsPricedPerMillionTokens() {
        assertEquals(2.5 + 5.0, TABLE.cost(new TokenUsage("gpt-4o", 1_000_000L, 500_000L)), 1e-12);
        assertEquals(0.00002, TABLE.cost(new TokenUsage("text-embedding-3-small", 1_000L, 0L)), 1e-12);
    }

    @Test
    void datedModelIsPricedByTheLongestMatchingPrefix() {
        assertEquals(0.0025 + 0.01, TABLE.cost(new TokenUsage("gpt-4o-2024-08-06", 1_000L, 1_000L)), 1e-12);
        assertEquals(0.00015 + 0.0006, TABLE.cost(new TokenUsage("gpt-4o-mini-2024-07-18", 1_000L, 1_000L)), 1e-12);
    }

    @Test
    void pricesOfUpToSixDecimalsCostTheExactDecimal() {
        // In doubles 1 * 0.15 + 2 * 0.6 over a million is 1.3499999999999998E-6; in picodollars 1,350,000.
        assertEquals(1.35e-6, TABLE.cost(new TokenUsage("gpt-4o-mini", 1L, 2L)));
        assertEquals(4.35e-6, TABLE.cost(new TokenUsage("gpt-4o-mini-2024-07-18", 1L, 7L)));
        assertEquals(0.00375, TABLE.cost(new TokenUsage("gpt-4o", 300L, 300L)));
        assertEquals(-2.5e-6, TABLE.cost(new TokenUsage("gpt-4o", -1L, 0L)), "a count as reported, sign and all");
    }

    @Test
    void longerPricesAndHugeCountsAreCostInDoubles() {
        PriceTable fine = load("{\"tiny\": {\"input\": 0.0000001, \"output\": 0.1234567}}");
        assertEquals((3 * 0.0000001 + 5 * 0.1234567) / 1_000_000d, fine.cost(new TokenUsage("tiny", 3L, 5L)));
        assertEquals((Long.MAX_VALUE * 2.5 + 0 * 10.0) / 1_000_000d, TABLE.cost(new TokenUsage("gpt-4o", Long.MAX_VALUE, 0L)),
                "a sum past a long's picodollars");
    }

    @Test
    void unknownModelHasNoCost() {
        assertNull(TABLE.cost(new TokenUsage("llama-3-70b", 10L, 10L)));
        assertNull(TABLE.cost(new TokenUsage("gpt-4", 10L, 10L))); // a prefix of a key is not a match
        assertNull(TABLE.cost(new TokenUsage(null, 10L, 10L)));
    }

    @Test
    void missingCountsHaveNoCost() {
        assertNull(TABLE.cost(new TokenUsage("gpt-4o", null, 10L)));
        assertNull(TABLE.cost(new TokenUsage("gpt-4o", 10L, null)));
        assertNull(TABLE.cost(TokenUsage.NONE));
        assertNull(TABLE.cost(null));
    }

    @Test
    void bundledDefaultsPriceCurrentModelsOfEachProvider() {
        PriceTable defaults = PriceTable.defaults();
        assertEquals(12.5, defaults.cost(new TokenUsage("gpt-4o", 1_000_000L, 1_000_000L)), 1e-9);
        assertNotNull(defaults.cost(new TokenUsage("claude-sonnet-4-20250514", 1L, 1L)));
        assertNotNull(defaults.cost(new TokenUsage("gemini-2.5-flash", 1L, 1L)));
    }

    @Test
    void malformedTableIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> load("{\"gpt-4o\": {\"input\": 2.5}}"));
        assertThrows(IllegalArgumentException.class, () -> load("{\"gpt-4o\": {\"input\": -1, \"output\": 1}}"));
        assertThrows(IllegalArgumentException.class, () -> load("[1, 2]"));
        assertThrows(IllegalArgumentException.class, () -> load("{\"gpt-4o\": "));
    }

    private static PriceTable load(String json) {
        return PriceTable.load(new ByteArrayInputStream(json.getBytes(UTF_8)));
    }
}
