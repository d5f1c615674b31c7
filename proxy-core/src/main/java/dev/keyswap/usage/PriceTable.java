package dev.keyswap.usage;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
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

    private record Price(double inputPerMillion, double outputPerMillion) {
    }

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
            prices.put(model, new Price(price(model, entry.getValue(), "input"), price(model, entry.getValue(), "output")));
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

    /** Cost in USD, or null when the model is unknown or a token count was not reported. */
    public Double cost(TokenUsage usage) {
        if (usage == null || usage.model() == null || usage.inputTokens() == null || usage.outputTokens() == null) {
            return null;
        }
        Price price = find(usage.model());
        if (price == null) {
            return null;
        }
        return (usage.inputTokens() * price.inputPerMillion() + usage.outputTokens() * price.outputPerMillion()) / 1_000_000d;
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
