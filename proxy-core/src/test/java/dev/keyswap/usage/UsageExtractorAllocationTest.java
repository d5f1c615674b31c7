package dev.keyswap.usage;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

/** The per-event hot path allocates nothing once a stream's model is known, and holds little. */
class UsageExtractorAllocationTest {
    private static final String OPENAI_CHUNK = "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","
            + "\"created\":1745743853,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,"
            + "\"delta\":{\"content\":\" world\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n";
    private static final String ANTHROPIC_DELTA = "event: content_block_delta\n"
            + "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" world\"}}\n\n";
    private static final String GEMINI_CHUNK = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" fox\"}],"
            + "\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 9,\"candidatesTokenCount\": 20},"
            + "\"modelVersion\": \"gemini-2.0-flash\",\"responseId\": \"x1\"}\r\n\r\n";

    @Test
    void streamedEventsAllocateNothingPerEvent() {
        for (String event : new String[] {OPENAI_CHUNK, ANTHROPIC_DELTA, GEMINI_CHUNK}) {
            for (boolean direct : new boolean[] {false, true}) {
                byte[] bytes = event.getBytes(UTF_8);
                ByteBuf buf = direct ? Unpooled.directBuffer(bytes.length).writeBytes(bytes) : Unpooled.wrappedBuffer(bytes);
                // The tests run with paranoid leak detection, whose wrapper records every access;
                // measure the buffer itself, as the event loop sees it in production.
                ByteBuf raw = buf.unwrap() != null ? buf.unwrap() : buf;
                try {
                    UsageExtractor extractor = UsageExtractor.forContentType("text/event-stream");
                    for (int i = 0; i < 20_000; i++) { // warm up, and the per-thread copy buffer
                        extractor.onContent(raw);
                    }
                    TokenUsage before = extractor.result();
                    int events = 20_000;
                    long allocated = allocatedBytes();
                    for (int i = 0; i < events; i++) {
                        extractor.onContent(raw);
                    }
                    allocated = allocatedBytes() - allocated;
                    // A few hundred bytes of slack for the measuring itself; per event that is ~0.
                    assertTrue(allocated < 1024, event + " direct=" + direct + ": " + allocated + " B for " + events + " events");
                    assertSame(before.model(), extractor.result().model(), "the model String is reused, not rebuilt");
                    assertEquals(before, extractor.result());
                } finally {
                    buf.release();
                }
            }
        }
    }

    @Test
    void aConnectionsResponsesShareOneExtractorAndAllocateOnlyTheirResult() {
        byte[] body = ("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,"
                + "\"message\":{\"role\":\"assistant\",\"content\":\"Hi.\"}}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":7}}")
                .getBytes(UTF_8);
        ByteBuf buf = Unpooled.wrappedBuffer(body);
        ByteBuf raw = buf.unwrap() != null ? buf.unwrap() : buf;
        try {
            UsageExtractor.PerConnection connection = new UsageExtractor.PerConnection();
            for (int i = 0; i < 20_000; i++) {
                UsageExtractor extractor = connection.forContentType("application/json");
                extractor.onContent(raw);
                extractor.result();
            }
            int responses = 20_000;
            long allocated = allocatedBytes();
            for (int i = 0; i < responses; i++) {
                UsageExtractor extractor = connection.forContentType("application/json");
                extractor.onContent(raw);
                assertEquals(12L, extractor.result().inputTokens());
            }
            allocated = allocatedBytes() - allocated;
            // The TokenUsage each response reports (24 B) and slack; a new extractor per response was ~380 B.
            assertTrue(allocated < responses * 40L, allocated / responses + " B per response");
        } finally {
            buf.release();
        }
    }

    @Test
    void usageNullIsNoUsageAndStateIsSmall() {
        UsageExtractor extractor = UsageExtractor.forContentType("text/event-stream");
        extractor.onContent(Unpooled.wrappedBuffer(OPENAI_CHUNK.getBytes(UTF_8)));
        assertEquals(new TokenUsage("gpt-4o-mini-2024-07-18", null, null), extractor.result());
        // SSE field buffer (8) + roles (5) + array/object stack (32) + capture buffer (64).
        assertTrue(extractor.retainedBytes() <= 128, "retained " + extractor.retainedBytes());
    }

    private static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }
}
