package dev.keyswap.usage;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * USD per million input and output tokens, per model.
 *
 * <p>Providers report dated or suffixed names ({@code gpt-4o-2024-08-06}, {@code
 * claude-sonnet-4-20250514}), so a model that is not in the table exactly is priced by the longest
 * table key that is a prefix of it. List the more specific variants ({@code gpt-4o-mini}) when
 * their price differs, or they price as their prefix.
 *
 * <p>The JSON is an object of {@code "model": {"input": usd, "output": usd}}; keys starting with
 * {@code _} are comments.
 */
public final class PriceTable {
    private static final String DEFAULTS = "/keyswap/model-prices.json";
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /**
     * A model's prices; {@code *PicoPerToken} the same in picodollars (10^-12 USD) per token, or
     * {@link #INEXACT} for a price with more than six decimals.
     */
    private record Price(double inputPerMillion, double outputPerMillion, long inputPicoPerToken, long outputPicoPerToken) {
        static Price of(double inputPerMillion, double outputPerMillion) {
            return new Price(inputPerMillion, outputPerMillion, picoPerToken(inputPerMillion), picoPerToken(outputPerMillion));
        }
    }

    private static final long INEXACT = -1;

    private final Map<String, Price> exact;
    /** Keys longest first, so the first prefix hit is the longest. */
    private final List<Map.Entry<String, Price>> byLengthDescending;

    private PriceTable(Map<String, Price> prices) {
        this.exact = Map.copyOf(prices);
        this.byLengthDescending = exact.entrySet().stream()
                .sorted(Comparator.comparingInt((Map.Entry<String, Price> e) -> e.getKey().length()).reversed())
                .toList();
    }

    /**
     * Reads a price table; the stream is not closed.
     *
     * @throws IllegalArgumentException when the JSON is not a table of non-negative prices
     * @throws UncheckedIOException     when the stream cannot be read
     */
    public static PriceTable load(InputStream json) {
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("price table is not valid JSON", e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("price table must be a JSON object of models");
        }
        Map<String, Price> prices = new HashMap<>();
        for (Map.Entry<String, JsonNode> entry : root.properties()) {
            String model = entry.getKey();
            if (model.startsWith("_")) {
                continue;
            }
            prices.put(model, Price.of(price(model, entry.getValue(), "input"), price(model, entry.getValue(), "output")));
        }
        return new PriceTable(prices);
    }

    /** The example prices bundled with Keyswap; configuration is expected to override them. */
    public static PriceTable defaults() {
        try (InputStream in = PriceTable.class.getResourceAsStream(DEFAULTS)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + DEFAULTS);
            }
            return load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Cost in USD, or null when the model is unknown or a token count was not reported.
     *
     * <p>Prices of up to six decimals (USD per million tokens) are whole picodollars per token,
     * so a cost is summed exactly in picodollars and is the double nearest that decimal: one
     * token at 0.15 and two at 0.6 cost 1.35E-6, where summing doubles gave 1.3499999999999998E-6.
     * Such a cost is also stored faster (UsageBlock writes its picodollars' digits). A longer
     * price, or a sum past a {@code long}, is computed in doubles.
     */
    public Double cost(TokenUsage usage) {
        if (usage == null || usage.model() == null || usage.inputTokens() == null || usage.outputTokens() == null) {
            return null;
        }
        Price price = find(usage.model());
        if (price == null) {
            return null;
        }
        long in = usage.inputTokens();
        long out = usage.outputTokens();
        if (price.inputPicoPerToken() != INEXACT && price.outputPicoPerToken() != INEXACT) {
            try {
                long pico = Math.addExact(Math.multiplyExact(in, price.inputPicoPerToken()),
                        Math.multiplyExact(out, price.outputPicoPerToken()));
                return pico / 1e12;
            } catch (ArithmeticException e) {
                // beyond 9.2 million USD: in doubles
            }
        }
        return (in * price.inputPerMillion() + out * price.outputPerMillion()) / 1_000_000d;
    }

    /** USD per million tokens as whole picodollars per token, or INEXACT. */
    private static long picoPerToken(double usdPerMillion) {
        // valueOf: the decimal the table wrote (its shortest form), not the double's binary expansion.
        BigDecimal pico = BigDecimal.valueOf(usdPerMillion).movePointRight(6);
        try {
            return pico.longValueExact();
        } catch (ArithmeticException e) {
            return INEXACT;
        }
    }

    private Price find(String model) {
        Price price = exact.get(model);
        if (price != null) {
            return price;
        }
        for (Map.Entry<String, Price> entry : byLengthDescending) {
            if (model.startsWith(entry.getKey())) {
                return entry.getValue();
            }
        }
        return null;
    }

    private static double price(String model, JsonNode entry, String field) {
        JsonNode value = entry.get(field);
        if (value == null || !value.isNumber() || value.asDouble() < 0 || !Double.isFinite(value.asDouble())) {
            throw new IllegalArgumentException("price table: " + model + "." + field + " must be a non-negative number");
        }
        return value.asDouble();
    }
}
