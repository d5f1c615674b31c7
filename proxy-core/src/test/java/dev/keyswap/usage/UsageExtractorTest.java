package dev.keyswap.usage;

import static dev.keyswap.usage.ProviderBodies.*;
import static dev.keyswap.usage.TestBytes.bytes;
import static dev.keyswap.usage.TestBytes.concat;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class UsageExtractorTest {

    static Stream<Arguments> providerBodies() {
        return Stream.of(
                Arguments.of("openai chat json", JSON, OPENAI_CHAT_JSON, new TokenUsage("gpt-4o-2024-08-06", 19L, 10L)),
                Arguments.of("openai chat sse", SSE, OPENAI_CHAT_SSE, new TokenUsage("gpt-4o-mini-2024-07-18", 9L, 12L)),
                Arguments.of("openai responses json", JSON, OPENAI_RESPONSES_JSON, new TokenUsage("gpt-4.1-2025-04-14", 36L, 87L)),
                Arguments.of("openai responses sse", SSE, OPENAI_RESPONSES_SSE, new TokenUsage("gpt-4.1-2025-04-14", 37L, 11L)),
                Arguments.of("anthropic json", JSON, ANTHROPIC_JSON, new TokenUsage("claude-sonnet-4-20250514", 2095L, 503L)),
                Arguments.of("anthropic sse", SSE, ANTHROPIC_SSE, new TokenUsage("claude-sonnet-4-20250514", 25L, 15L)),
                // Prompt caching: Anthropic counts cache writes and reads apart from input_tokens.
                Arguments.of("anthropic json, cached prompt", JSON, ANTHROPIC_JSON.replace(
                        "\"input_tokens\":2095,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0",
                        "\"cache_read_input_tokens\":100000,\"input_tokens\":10,\"cache_creation_input_tokens\":2000"),
                        new TokenUsage("claude-sonnet-4-20250514", 102010L, 503L)),
                Arguments.of("anthropic sse, cached prompt", SSE, ANTHROPIC_SSE.replace(
                        "\"input_tokens\":25,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0",
                        "\"input_tokens\":10,\"cache_creation_input_tokens\":2000,\"cache_read_input_tokens\":100000"),
                        new TokenUsage("claude-sonnet-4-20250514", 102010L, 15L)),
                // An OpenAI-style usage relayed by a gateway: prompt_tokens holds the cached ones already.
                Arguments.of("openai-style usage with cache counts beside prompt_tokens", JSON,
                        "{\"model\":\"m\",\"usage\":{\"cache_creation_input_tokens\":50,\"prompt_tokens\":120,"
                        + "\"cache_read_input_tokens\":60,\"completion_tokens\":7}}", new TokenUsage("m", 120L, 7L)),
                Arguments.of("anthropic sse, final counts in message_delta", SSE, ANTHROPIC_SSE.replace(
                        "\"usage\":{\"output_tokens\":15}", "\"usage\":{\"cache_read_input_tokens\":700,\"input_tokens\":30,"
                        + "\"cache_creation_input_tokens\":5,\"output_tokens\":15}"),
                        new TokenUsage("claude-sonnet-4-20250514", 735L, 15L)),
                Arguments.of("gemini json, thoughts add to output", JSON, GEMINI_JSON, new TokenUsage("gemini-2.5-flash", 8L, 44L)),
                Arguments.of("gemini sse", SSE, GEMINI_SSE, new TokenUsage("gemini-2.0-flash", 9L, 40L)),
                Arguments.of("gemini json array stream", JSON, GEMINI_JSON_ARRAY, new TokenUsage("gemini-2.0-flash", 9L, 40L)),
                Arguments.of("openai embeddings, output 0", JSON, OPENAI_EMBEDDINGS_JSON, new TokenUsage("text-embedding-3-small", 5L, 0L)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("providerBodies")
    void findsUsageInWholeBody(String name, String contentType, String body, TokenUsage expected) {
        assertEquals(expected, extract(contentType, bytes(body), Integer.MAX_VALUE, false));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("providerBodies")
    void findsUsageWhenFedOneByteAtATime(String name, String contentType, String body, TokenUsage expected) {
        assertEquals(expected, extract(contentType, bytes(body), 1, false));
        assertEquals(expected, extract(contentType, bytes(body), 1, true));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("providerBodies")
    void findsUsageWhateverByteTheBodyIsSplitAt(String name, String contentType, String body, TokenUsage expected) {
        byte[] whole = bytes(body);
        for (int split = 0; split <= whole.length; split++) {
            UsageExtractor extractor = UsageExtractor.forContentType(contentType);
            feed(extractor, Arrays.copyOfRange(whole, 0, split), split % 2 == 0);
            feed(extractor, Arrays.copyOfRange(whole, split, whole.length), split % 2 == 1);
            assertEquals(expected, extractor.result(), "split at byte " + split);
        }
    }

    @Test
    void sseLinesMayEndInCrLfOrCr() {
        TokenUsage expected = new TokenUsage("claude-sonnet-4-20250514", 25L, 15L);
        assertEquals(expected, extract(SSE, bytes(ANTHROPIC_SSE.replace("\n", "\r\n")), 1, false));
        assertEquals(expected, extract(SSE, bytes(ANTHROPIC_SSE.replace("\n", "\r")), 1, false));
        // A CR at the end of one chunk and its LF at the start of the next is still one line end.
        byte[] crlf = bytes(ANTHROPIC_SSE.replace("\n", "\r\n"));
        for (int split = 0; split <= crlf.length; split++) {
            UsageExtractor extractor = UsageExtractor.forContentType(SSE);
            feed(extractor, Arrays.copyOfRange(crlf, 0, split), false);
            feed(extractor, Arrays.copyOfRange(crlf, split, crlf.length), false);
            assertEquals(expected, extractor.result(), "split at byte " + split);
        }
    }

    /** OpenAI content chunks as sent with stream_options.include_usage ("usage":null) and without. */
    private static String openAiChunk(String model, String content, boolean usageNull) {
        return "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"" + model
                + "\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + content + "\"}}]"
                + (usageNull ? ",\"usage\":null" : "") + "}\n\n";
    }

    @Test
    void onceTheModelIsKnownEventsThatCannotCarryCountsAreNotRead() {
        // Observable only through a model renamed in events without counts (no provider does
        // that) and a last event with counts but no model: when the events are whole in the bytes
        // at hand they are passed over, and the first name stays.
        String body = openAiChunk("gpt-4o-mini", "Hi", true) + openAiChunk("renamed", " there", true)
                + openAiChunk("renamed", "!", false)
                + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3}}\n\n"
                + "data: [DONE]\n\n";
        assertEquals(new TokenUsage("gpt-4o-mini", 9L, 3L), extract(SSE, bytes(body), Integer.MAX_VALUE, false));
        assertEquals(new TokenUsage("gpt-4o-mini", 9L, 3L), extract(SSE, bytes(body), Integer.MAX_VALUE, true));
        // Fed a byte at a time no event is ever whole, so every one is read: the counts are the same.
        assertEquals(new TokenUsage("renamed", 9L, 3L), extract(SSE, bytes(body), 1, false));
        // Until a model is known, every event is read.
        assertEquals(new TokenUsage("renamed", 9L, 3L),
                extract(SSE, bytes(body.replace("\"model\":\"gpt-4o-mini\",", "")), Integer.MAX_VALUE, false));
    }

    @Test
    void anEventThatMightCarryCountsIsAlwaysRead() {
        String first = openAiChunk("gpt-4o-mini", "Hi", true);
        for (String usage : new String[] {
            "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3}",
            "\"usage\" : {\"prompt_tokens\":9,\"completion_tokens\":3}",
            "\"usage\":null,\"x\":1,\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":3}",
            "\"\\u0075sage\":{\"prompt_tokens\":9,\"completion_tokens\":3}",
            "\"us\\u0061ge\":{\"prompt_tokens\":9,\"completion_tokens\":3}",
        }) {
            String last = "data: {\"model\":\"gpt-4o-mini\",\"choices\":[]," + usage + "}\n\n";
            for (String lineEnd : new String[] {"\n", "\r\n", "\r"}) {
                byte[] body = bytes((first + last).replace("\n", lineEnd));
                assertEquals(new TokenUsage("gpt-4o-mini", 9L, 3L), extract(SSE, body, Integer.MAX_VALUE, false),
                        usage + " with line ends " + lineEnd.replace("\r", "CR").replace("\n", "LF"));
                for (int split = 0; split <= body.length; split++) {
                    UsageExtractor extractor = UsageExtractor.forContentType(SSE);
                    feed(extractor, Arrays.copyOfRange(body, 0, split), false);
                    feed(extractor, Arrays.copyOfRange(body, split, body.length), true);
                    assertEquals(new TokenUsage("gpt-4o-mini", 9L, 3L), extractor.result(), usage + " split at " + split);
                }
            }
        }
    }

    @Test
    void passedOverEventsLeaveTheLineStateAsReadingThemWould() {
        // Count-less events ending in CR, CRLF or a mix, with the next event right behind, and a
        // CR that ends one chunk whose LF starts the next.
        String skipped = openAiChunk("gpt-4o-mini", "a", true);
        String counts = "data: {\"model\":\"gpt-4o-mini\",\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":5}}\n\n";
        for (String ends : new String[] {"\r\r", "\r\n\r\n", "\n\r\n", "\r\n\n", "\n\r"}) {
            String body = skipped + skipped.replace("\n\n", ends) + skipped + counts;
            byte[] all = bytes(body);
            for (int split = 0; split <= all.length; split++) {
                UsageExtractor extractor = UsageExtractor.forContentType(SSE);
                feed(extractor, Arrays.copyOfRange(all, 0, split), false);
                feed(extractor, Arrays.copyOfRange(all, split, all.length), false);
                assertEquals(new TokenUsage("gpt-4o-mini", 4L, 5L), extractor.result(),
                        ends.replace("\r", "CR").replace("\n", "LF") + " split at " + split);
            }
        }
    }

    @Test
    void multiLineSseDataIsJoinedWithLineFeeds() {
        String body = """
                event: message_start
                data: {"type":"message_start",
                data:  "message":{"model":"claude-opus-4-1-20250805",
                data:"usage":{"input_tokens":7,"output_tokens":1}}}

                event: message_delta
                data: {"type":"message_delta","usage":{"input_tokens":8,"output_tokens":30}}

                """;
        assertEquals(new TokenUsage("claude-opus-4-1-20250805", 8L, 30L), extract(SSE, bytes(body), 3, false));
    }

    @Test
    void modelAndUsageNestedInContentAreIgnored() {
        String body = """
                {"id":"x","choices":[{"message":{"model":"wrong-1","usage":{"prompt_tokens":999}}}],
                 "metadata":{"model":"wrong-2","usage":{"prompt_tokens":998,"completion_tokens":997}},
                 "data":[{"model":"wrong-3"}],
                 "model":"gpt-4o","usage":{"prompt_tokens":3,"completion_tokens":4,"details":{"prompt_tokens":996}}}
                """;
        assertEquals(new TokenUsage("gpt-4o", 3L, 4L), extract(JSON, bytes(body), 5, false));
        assertEquals(new TokenUsage("claude-sonnet-4-20250514", 2095L, 503L), extract(JSON, bytes(ANTHROPIC_JSON), 7, false));
    }

    @Test
    void nestedMessageAndResponseCountOnlyInTheirEvents() {
        String body = """
                event: content_block_start
                data: {"type":"content_block_start","message":{"model":"wrong","usage":{"input_tokens":999}}}

                data: {"type":"error","response":{"model":"wrong-too","usage":{"output_tokens":999}}}

                event: message_start
                data: {"message":{"model":"claude-3-5-haiku-20241022","usage":{"input_tokens":12,"output_tokens":1}}}

                """;
        // The last event has no "type" in its data, so its SSE event name decides.
        assertEquals(new TokenUsage("claude-3-5-haiku-20241022", 12L, 1L), extract(SSE, bytes(body), 1, false));
    }

    @Test
    void malformedJsonKeepsWhatWasFoundAndDoesNotThrow() {
        String body = "{\"model\":\"gpt-4o\",\"usage\":{\"prompt_tokens\":5,,,\"completion_tokens\":6}}";
        assertEquals(new TokenUsage("gpt-4o", 5L, null), extract(JSON, bytes(body), 1, false));
        assertEquals(TokenUsage.NONE, extract(JSON, bytes("<html>502 Bad Gateway</html>"), 4, false));
        assertEquals(TokenUsage.NONE, extract(JSON, new byte[] {'{', (byte) 0xC3, (byte) 0x28, '}'}, 1, false));
    }

    @Test
    void onlyTheFirstJsonValueOfABodyCounts() {
        String body = OPENAI_CHAT_JSON + "{\"model\":\"trailing\",\"usage\":{\"prompt_tokens\":1}}";
        assertEquals(new TokenUsage("gpt-4o-2024-08-06", 19L, 10L), extract(JSON, bytes(body), 3, false));
    }

    @Test
    void malformedSseEventIsSkippedAndLaterEventsStillCount() {
        String body = """
                data: {"model":"gpt-4o-mini","usage":{"prompt_tokens":1,]]]

                data: not json at all

                : a comment line

                data: {"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":12}}

                data: [DONE]

                """;
        assertEquals(new TokenUsage("gpt-4o-mini", 9L, 12L), extract(SSE, bytes(body), 2, false));
    }

    @Test
    void truncatedStreamReturnsWhatArrived() {
        String cut = ANTHROPIC_SSE.substring(0, ANTHROPIC_SSE.indexOf("\"usage\":{\"output_tokens\":15"));
        assertEquals(new TokenUsage("claude-sonnet-4-20250514", 25L, 1L), extract(SSE, bytes(cut), 16, false));
        String cutJson = OPENAI_CHAT_JSON.substring(0, OPENAI_CHAT_JSON.indexOf("\"completion_tokens\""));
        assertEquals(new TokenUsage("gpt-4o-2024-08-06", 19L, null), extract(JSON, bytes(cutJson), 16, false));
    }

    @Test
    void otherContentTypesGetOneSharedNoOp() {
        UsageExtractor none = UsageExtractor.forContentType("text/html; charset=utf-8");
        assertSame(none, UsageExtractor.forContentType(null));
        assertSame(none, UsageExtractor.forContentType("application/octet-stream"));
        assertSame(none, UsageExtractor.forContentType("application/jsonl"));
        assertEquals(TokenUsage.NONE, extract("image/png", bytes(OPENAI_CHAT_JSON), 100, false));
        assertEquals(0, none.retainedBytes());
    }

    @Test
    void contentTypeParametersAndCaseAreIgnored() {
        TokenUsage chat = new TokenUsage("gpt-4o-2024-08-06", 19L, 10L);
        assertEquals(chat, extract("Application/JSON; charset=utf-8", bytes(OPENAI_CHAT_JSON), 64, false));
        assertEquals(chat, extract(" application/vnd.openai+json ", bytes(OPENAI_CHAT_JSON), 64, false));
        assertEquals(new TokenUsage("gpt-4o-mini-2024-07-18", 9L, 12L),
                extract("text/event-stream;charset=UTF-8", bytes(OPENAI_CHAT_SSE), 64, false));
    }

    @Test
    void buffersKeepTheirIndicesAndReferenceCount() {
        byte[] body = bytes(OPENAI_CHAT_JSON);
        // Bytes outside the readable region would corrupt the JSON if they were read.
        ByteBuf heapSlice = Unpooled.wrappedBuffer(concat(bytes("}}}garbage"), body, bytes("]]]"))).slice(10, body.length);
        ByteBuf direct = Unpooled.directBuffer(body.length + 20).writeBytes(bytes("}}}}}")).writeBytes(body).writeBytes(bytes("{{{"));
        direct.readerIndex(5);
        direct.writerIndex(5 + body.length);
        CompositeByteBuf composite = Unpooled.compositeBuffer()
                .addComponent(true, Unpooled.wrappedBuffer(body, 0, 100))
                .addComponent(true, Unpooled.directBuffer().writeBytes(body, 100, body.length - 100));
        for (ByteBuf buf : new ByteBuf[] {heapSlice, direct, composite}) {
            try {
                int reader = buf.readerIndex();
                int writer = buf.writerIndex();
                int refCnt = buf.refCnt();
                UsageExtractor extractor = UsageExtractor.forContentType(JSON);
                extractor.onContent(buf);
                assertEquals(reader, buf.readerIndex());
                assertEquals(writer, buf.writerIndex());
                assertEquals(refCnt, buf.refCnt());
                assertEquals(new TokenUsage("gpt-4o-2024-08-06", 19L, 10L), extractor.result());
            } finally {
                buf.release();
            }
        }
    }

    @Test
    void oneHugeStringDoesNotStopUsageAfterItFromBeingRead() {
        // 48 MB of content is past Jackson's own string limit: only clipping lets the parse go on.
        UsageExtractor extractor = UsageExtractor.forContentType(JSON);
        feedString(extractor, "{\"model\":\"gpt-4o\",\"choices\":[{\"message\":{\"content\":\"");
        ByteBuf chunk = Unpooled.directBuffer(64 * 1024);
        try {
            byte[] text = bytes("caf\u00e9 \\\"quoted\\\" \\u00e9 \ud83d\ude00 ".repeat(2048));
            for (long sent = 0; sent < 48L * 1024 * 1024; sent += text.length) {
                chunk.clear().writeBytes(text);
                extractor.onContent(chunk);
            }
        } finally {
            chunk.release();
        }
        feedString(extractor, "\"}}],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":12000000}}");
        assertEquals(new TokenUsage("gpt-4o", 11L, 12_000_000L), extractor.result());
        assertTrue(extractor.retainedBytes() <= UsageExtractor.RETAINED_BYTES_CAP);
    }

    @Test
    void twoHundredMegabyteSseStreamKeepsStateBoundedAndFindsFinalUsage() {
        UsageExtractor extractor = UsageExtractor.forContentType(SSE);
        String content = "x".repeat(900);
        byte[] event = bytes("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\","
                + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + content + "\"}}],\"usage\":null}\n\n");
        // Every 50 MB an event whose one data line is 8 MB long, usage after the long string:
        // neither a line, an event nor a string is held.
        byte[] longLinePiece = bytes("y".repeat(64 * 1024));
        ByteBuf chunk = Unpooled.directBuffer(64 * 1024);
        long sent = 0;
        int eventPosition = 0;
        int retainedAfterFirstChunk = -1;
        try {
            while (sent < 200L * 1024 * 1024) {
                // Chunks cut events (and lines) at arbitrary places, as TCP would.
                chunk.clear();
                while (chunk.isWritable()) {
                    int n = Math.min(chunk.writableBytes(), event.length - eventPosition);
                    chunk.writeBytes(event, eventPosition, n);
                    eventPosition = (eventPosition + n) % event.length;
                }
                extractor.onContent(chunk);
                sent += chunk.readableBytes();
                if (retainedAfterFirstChunk < 0) {
                    retainedAfterFirstChunk = extractor.retainedBytes();
                }
                if (sent % (50L * 1024 * 1024) < chunk.capacity()) {
                    feedString(extractor, new String(event, eventPosition, event.length - eventPosition, UTF_8));
                    eventPosition = 0;
                    feedString(extractor, "data: {\"model\":\"gpt-4o-mini\",\"choices\":[{\"delta\":{\"content\":\"");
                    for (int i = 0; i < 128; i++) {
                        chunk.clear().writeBytes(longLinePiece);
                        extractor.onContent(chunk);
                        sent += longLinePiece.length;
                    }
                    feedString(extractor, "\"}}],\"usage\":{\"prompt_tokens\":" + sent + ",\"completion_tokens\":1}}\n\n");
                    // Read to its end: Jackson (limited to 2 KiB strings here) never held the line.
                    assertEquals(sent, extractor.result().inputTokens());
                }
                assertEquals(retainedAfterFirstChunk, extractor.retainedBytes());
            }
            feedString(extractor, new String(event, eventPosition, event.length - eventPosition, UTF_8));
        } finally {
            chunk.release();
        }
        feedString(extractor, "data: {\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[],"
                + "\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":52000}}\n\ndata: [DONE]\n\n");
        assertEquals(new TokenUsage("gpt-4o-mini-2024-07-18", 120L, 52_000L), extractor.result());
        assertTrue(retainedAfterFirstChunk <= UsageExtractor.RETAINED_BYTES_CAP, "retained " + retainedAfterFirstChunk);
        assertTrue(sent >= 200L * 1024 * 1024);
    }

    @Test
    void aConnectionsReusedExtractorAnswersEachResponseAsAFreshOneWouldWhateverCameBefore() {
        UsageExtractor.PerConnection connection = new UsageExtractor.PerConnection();
        List<Arguments> bodies = providerBodies().toList();
        Random random = new Random(20261123);
        for (int round = 0; round < 300; round++) {
            Object[] previous = bodies.get(random.nextInt(bodies.size())).get();
            // The previous response on the connection stops anywhere: mid-name, mid-event, mid-number.
            byte[] cut = bytes((String) previous[2]);
            UsageExtractor before = connection.forContentType((String) previous[1]);
            feed(before, Arrays.copyOfRange(cut, 0, random.nextInt(cut.length + 1)), random.nextBoolean());
            before.result();

            Object[] next = bodies.get(random.nextInt(bodies.size())).get();
            byte[] whole = bytes((String) next[2]);
            int split = random.nextInt(whole.length + 1);
            UsageExtractor reused = connection.forContentType((String) next[1]);
            feed(reused, Arrays.copyOfRange(whole, 0, split), random.nextBoolean());
            feed(reused, Arrays.copyOfRange(whole, split, whole.length), random.nextBoolean());
            assertEquals(next[3], reused.result(), next[0] + " after part of " + previous[0]);
        }
        UsageExtractor json = connection.forContentType("application/json");
        assertSame(json, connection.forContentType("application/json; charset=utf-8"), "made once per connection");
        assertEquals(TokenUsage.NONE, json.result(), "handed out empty");
        feedString(json, "{\"model\":\"m\",\"usage\":{\"prompt_tokens\":3");
        assertEquals(TokenUsage.NONE, connection.forContentType("application/json").result(),
                "nothing found before carries over");
        assertSame(UsageExtractor.forContentType("text/html"), connection.forContentType("text/html"), "unmetered: the no-op");
    }

    // --- helpers

    private static TokenUsage extract(String contentType, byte[] body, int chunkSize, boolean direct) {
        UsageExtractor extractor = UsageExtractor.forContentType(contentType);
        for (int from = 0; from < body.length; from += chunkSize) {
            int to = (int) Math.min((long) from + chunkSize, body.length);
            feed(extractor, Arrays.copyOfRange(body, from, to), direct);
        }
        return extractor.result();
    }

    private static void feed(UsageExtractor extractor, byte[] bytes, boolean direct) {
        ByteBuf buf = direct ? Unpooled.directBuffer(Math.max(1, bytes.length)).writeBytes(bytes) : Unpooled.wrappedBuffer(bytes);
        try {
            extractor.onContent(buf);
            assertEquals(0, buf.readerIndex());
            assertEquals(bytes.length, buf.writerIndex());
            assertEquals(1, buf.refCnt());
        } finally {
            buf.release();
        }
    }

    private static void feedString(UsageExtractor extractor, String text) {
        feed(extractor, bytes(text), true);
    }
}
