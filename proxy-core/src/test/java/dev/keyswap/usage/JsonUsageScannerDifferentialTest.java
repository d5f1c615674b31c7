package dev.keyswap.usage;

import static dev.keyswap.usage.ProviderBodies.*;
import static dev.keyswap.usage.TestBytes.bytes;
import static dev.keyswap.usage.TestBytes.concat;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Holds the hand-written {@link JsonUsageScanner} to the answers of the Jackson-based scanner it
 * replaced ({@link JacksonReferenceScanner}), on the provider bodies and on thousands of damaged
 * copies of them (bytes deleted, inserted, replaced, regions repeated, cut short), fed whole and
 * in pieces: what counts as a usage report, and what stops the reading, did not change.
 */
class JsonUsageScannerDifferentialTest {
    private static final String[] EVENT_NAMES = {null, "", "message_start", "message_delta", "response.completed",
        "response.", "content_block_delta"};
    private static final byte[] ALPHABET = bytes("{}[]:,\"\\ \t\r\n0123456789-+.eEtrufalsn/bu"
            + "modelVersionusageMetadatapromptTokenCountinput_tokenscache_read_creation");
    private static final byte[] ODD_BYTES = {0x00, 0x01, 0x1F, 0x7F, (byte) 0x80, (byte) 0xBF, (byte) 0xC3, (byte) 0xE9,
        (byte) 0xEF, (byte) 0xF0, (byte) 0xF5, (byte) 0xF8, (byte) 0xFF};

    @Test
    void sameAnswersAsJacksonOnProviderBodiesAndDamagedCopies() {
        Random random = new Random(20261122);
        int compared = 0;
        for (Case base : cases()) {
            compare(base.json, base.rootArrays, base.eventName);
            for (int n = 0; n < 400; n++) {
                byte[] mutant = mutate(base.json, random);
                compare(mutant, base.rootArrays, EVENT_NAMES[random.nextInt(EVENT_NAMES.length)]);
                compared++;
            }
        }
        assertEquals(cases().size() * 400, compared);
    }

    @Test
    void sameAnswersOnEdgeCases() {
        String[] edges = {
            "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":01}}",
            "{\"usage\":{\"cache_read_input_tokens\":5,\"input_tokens\":1,\"cache_read_input_tokens\":7,\"output_tokens\":2}}",
            "{\"usage\":{\"cache_read_input_tokens\":4,\"output_tokens\":1}}",
            "{\"usage\":{\"cache_read_input_tokens\":4,\"prompt_tokens\":9,\"cache_creation_input_tokens\":2}}",
            "{\"type\":\"response.completed\",\"response\":{\"usage\":{\"cache_read_input_tokens\":4,\"input_tokens\":9}}}",
            "{\"usage\":{\"cache_creation_input_tokens\":9223372036854775807,\"input_tokens\":3,\"cache_read_input_tokens\":1}}",
            "{\"usage\":{\"input_tokens\":1,\"cache_read_input_tokens\":-4,\"cache_creation\":{\"cache_read_input_tokens\":9}}}",
            "{\"usageMetadata\":{\"cache_read_input_tokens\":4,\"promptTokenCount\":2,\"candidatesTokenCount\":1}}",
            "{\"type\":\"message_start\",\"message\":{\"usage\":{\"cache_creation_input_tokens\":3,\"input_tokens\":2}}}",
            "{\"type\":\"message_delta\",\"message\":{\"usage\":{\"cache_creation_input_tokens\":3,\"input_tokens\":2}}}",
            "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":-0,\"completion_tokens\":-3}}",
            "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":9223372036854775807,\"completion_tokens\":1}}",
            "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":9223372036854775808,\"completion_tokens\":1}}",
            "{\"model\":\"m\",\"usage\":{\"total_tokens\":99999999999999999999999,\"prompt_tokens\":4}}",
            "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":1.0,\"completion_tokens\":2e3,\"output_tokens\":7}}",
            "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":1.,\"completion_tokens\":2}}",
            "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":-,\"completion_tokens\":2}}",
            "{\"model\":\"m\",\"usage\":null,\"x\":{\"usage\":{\"prompt_tokens\":3}}}",
            "{\"mo\\u0064el\":\"gpt\\u002d4o \\\"q\\\" \\ud83d\\ude00 caf\u00e9\",\"us\\u0061ge\":{\"input_tokens\":5}}",
            "{\"type\":\"message\\u005fstart\",\"message\":{\"model\":\"c\",\"usage\":{\"input_tokens\":2}}}",
            "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":1,},\"x\":1}",
            "{\"model\":\"m\",\"a\":[1,],\"usage\":{\"prompt_tokens\":1}}",
            "{\"model\":\"m\",\"a\":tru,\"usage\":{\"prompt_tokens\":1}}",
            "{\"model\":\"m\",\"a\":nullx,\"usage\":{\"prompt_tokens\":1}}",
            "{\"model\":\"m\" , \"usage\" : { \"prompt_tokens\" : 1 } , \"a\" : [ true , false , null , { } , [ ] ] }",
            "{\"model\":\"a\\tb\",\"usage\":{\"prompt_tokens\":1}}",
            "{\"model\":\"a\\xb\",\"usage\":{\"prompt_tokens\":1}}",
            "{\"model\":\"a\\u12g4\",\"usage\":{\"prompt_tokens\":1}}",
            "\uFEFF {\"model\":\"bom\"}",
            "{\"model\":\"" + "m".repeat(1500) + "\",\"usage\":{\"prompt_tokens\":1}}",
            "{\"model\":\"" + "\u00e9".repeat(700) + "\\ud83d\\ude00".repeat(3) + "\",\"usage\":{\"prompt_tokens\":1}}",
            "{\"" + "k".repeat(3000) + "\":1,\"model\":\"after-long-name\"}",
            "{\"a\":" + "[".repeat(255) + "]".repeat(255) + ",\"model\":\"deep-ok\"}",
            "{\"a\":" + "[".repeat(256) + "]".repeat(256) + ",\"model\":\"too-deep\"}",
            "{\"a\":1" + "0".repeat(999) + ",\"model\":\"long-number\"}",
            "[{\"modelVersion\":\"g\",\"usageMetadata\":{\"promptTokenCount\":1,\"thoughtsTokenCount\":4}},[{\"modelVersion\":\"no\"}],"
                    + "{\"usageMetadata\":{\"candidatesTokenCount\":2}}]",
            "{\"model\":\"m\"} {\"model\":\"second\"}",
            "[DONE]",
            "  \r\n\t{\"model\":\"ws\"}",
        };
        compareWithEveryEventName(edges);
    }

    /**
     * Whole documents that the recursive descent reads part of and then gives back to the
     * byte-at-a-time machine (a negative or 19-digit count, an escaped model or name, a name of
     * 0x80 and up in a container that matters, nesting past its depth, a float count, a bad
     * escape), after it has already reported a model or counts: the answer is the machine's, which
     * is Jackson's. And a skipped string with UTF-8 and escapes, which the descent checks itself.
     */
    @Test
    void documentsGivenBackPartWayReadAsTheMachineReadsThem() {
        String[] givenBack = {
            "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":-4}}",
            "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1234567890123456789}}",
            "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":99999999999999999999}}",
            "{\"usage\":{\"prompt_tokens\":3},\"model\":\"gpt\\u002d4o\"}",
            "{\"model\":\"first\",\"usage\":{\"input_tokens\":5},\"mod\u00e9l\":1,\"model\":\"second\"}",
            "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":3},\"a\":" + "[".repeat(80) + "]".repeat(80)
                    + ",\"model\":\"deep\"}",
            "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2.0e1}}",
            "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":3},\"x\":\"caf\u00e9 \\\"q\\\" \\ud83d\\ude00\"}",
            "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":3},\"x\":\"bad \\q escape\",\"model\":\"after\"}",
        };
        compareWithEveryEventName(givenBack);
    }

    /** Each document as a body and as an event's data, under every event name. */
    private static void compareWithEveryEventName(String[] documents) {
        for (String json : documents) {
            for (String eventName : EVENT_NAMES) {
                compare(bytes(json), true, eventName);
                compare(bytes(json), false, eventName);
            }
        }
    }

    private record Case(byte[] json, boolean rootArrays, String eventName) { }

    private static List<Case> cases() {
        List<Case> cases = new ArrayList<>();
        for (String body : new String[] {OPENAI_CHAT_JSON, OPENAI_RESPONSES_JSON, ANTHROPIC_JSON, GEMINI_JSON,
            GEMINI_JSON_ARRAY, OPENAI_EMBEDDINGS_JSON}) {
            cases.add(new Case(bytes(body), true, null));
        }
        for (String stream : new String[] {OPENAI_CHAT_SSE, OPENAI_RESPONSES_SSE, ANTHROPIC_SSE, GEMINI_SSE}) {
            String eventName = null;
            for (String line : stream.split("\r?\n")) {
                if (line.startsWith("event: ")) {
                    eventName = line.substring(7);
                } else if (line.startsWith("data: ")) {
                    cases.add(new Case(bytes(line.substring(6)), false, eventName));
                    eventName = null;
                }
            }
        }
        return cases;
    }

    private static byte[] mutate(byte[] original, Random random) {
        byte[] b = original;
        int edits = 1 + random.nextInt(3);
        for (int e = 0; e < edits && b.length > 0; e++) {
            int at = random.nextInt(b.length);
            switch (random.nextInt(6)) {
                case 0 -> b = concat(Arrays.copyOfRange(b, 0, at), Arrays.copyOfRange(b, at + 1, b.length));
                case 1 -> b = concat(Arrays.copyOfRange(b, 0, at), new byte[] {pick(random)}, Arrays.copyOfRange(b, at, b.length));
                case 2 -> {
                    b = b.clone();
                    b[at] = pick(random);
                }
                case 3 -> {
                    int to = Math.min(b.length, at + 1 + random.nextInt(40));
                    b = concat(Arrays.copyOfRange(b, 0, to), Arrays.copyOfRange(b, at, b.length));
                }
                case 4 -> b = Arrays.copyOfRange(b, 0, at);
                default -> {
                    int to = Math.min(b.length, at + 1 + random.nextInt(40));
                    b = concat(Arrays.copyOfRange(b, 0, at), Arrays.copyOfRange(b, to, b.length));
                }
            }
        }
        return b;
    }

    private static byte pick(Random random) {
        return random.nextInt(5) == 0 ? ODD_BYTES[random.nextInt(ODD_BYTES.length)] : ALPHABET[random.nextInt(ALPHABET.length)];
    }

    private static void compare(byte[] json, boolean rootArrays, String eventName) {
        TokenUsage expected = reference(json, rootArrays, eventName);
        for (int chunk : new int[] {Integer.MAX_VALUE, 1, 7}) {
            UsageFields fields = new UsageFields();
            JsonUsageScanner scanner = new JsonUsageScanner(fields, rootArrays);
            if (eventName != null) {
                byte[] name = bytes(eventName);
                scanner.eventType(JsonUsageScanner.classifyType(name, name.length));
            }
            for (int from = 0; from < json.length; from += chunk) {
                scanner.feed(json, from, (int) Math.min(chunk, (long) json.length - from));
            }
            assertEquals(expected, fields.toTokenUsage(),
                    () -> "chunk " + chunk + ", event " + eventName + ", rootArrays " + rootArrays + ": "
                            + new String(json, UTF_8));
        }
    }

    private static TokenUsage reference(byte[] json, boolean rootArrays, String eventName) {
        UsageFields fields = new UsageFields();
        JacksonReferenceScanner scanner = new JacksonReferenceScanner(fields, rootArrays);
        scanner.eventName(eventName);
        scanner.feed(json, 0, json.length);
        return fields.toTokenUsage();
    }
}
