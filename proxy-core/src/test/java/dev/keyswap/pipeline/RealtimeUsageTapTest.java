package dev.keyswap.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.keyswap.usage.TokenUsage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameEncoder;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class RealtimeUsageTapTest {
    static final String DONE_1 = "{\"type\":\"response.done\",\"event_id\":\"e1\",\"response\":{\"id\":\"r1\",\"status\":\"completed\","
            + "\"usage\":{\"total_tokens\":150,\"input_tokens\":100,\"output_tokens\":50}}}";
    static final String DONE_2 = "{\"type\":\"response.done\",\"event_id\":\"e2\",\"response\":{\"id\":\"r2\",\"status\":\"completed\","
            + "\"usage\":{\"total_tokens\":30,\"input_tokens\":20,\"output_tokens\":10}}}";

    /** A session as the upstream sends it: audio deltas, a ping, a fragmented response.done, and another. */
    static ByteBuf session(boolean masked) {
        EmbeddedChannel ch = new EmbeddedChannel(new WebSocket08FrameEncoder(masked));
        ch.writeOutbound(new TextWebSocketFrame("{\"type\":\"session.created\",\"session\":{\"model\":\"gpt-realtime\"}}"));
        ch.writeOutbound(new TextWebSocketFrame("{\"type\":\"response.audio.delta\",\"delta\":\"" + "A".repeat(70_000) + "\"}"));
        ch.writeOutbound(new BinaryWebSocketFrame(Unpooled.wrappedBuffer(new byte[300])));
        ch.writeOutbound(new TextWebSocketFrame(false, 0, DONE_1.substring(0, 40)));
        ch.writeOutbound(new PingWebSocketFrame(Unpooled.wrappedBuffer(new byte[] {1, 2, 3})));
        ch.writeOutbound(new ContinuationWebSocketFrame(true, 0, DONE_1.substring(40)));
        ch.writeOutbound(new TextWebSocketFrame("{\"type\":\"response.text.delta\",\"usage\":{\"input_tokens\":999}}"));
        ch.writeOutbound(new TextWebSocketFrame(DONE_2));
        ByteBuf all = Unpooled.buffer();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            all.writeBytes(b);
            b.release();
        }
        ch.finishAndReleaseAll();
        return all;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 1000, Integer.MAX_VALUE})
    void sumsEveryResponseDoneWhateverTheChunking(int chunk) {
        for (boolean masked : new boolean[] {false, true}) {
            ByteBuf all = session(masked);
            RealtimeUsageTap tap = new RealtimeUsageTap();
            int readerIndex = all.readerIndex();
            for (int i = 0; i < all.readableBytes(); i += chunk) {
                int n = Math.min(chunk, all.readableBytes() - i);
                tap.onBytes(all.slice(i, n));
            }
            assertEquals(readerIndex, all.readerIndex());
            TokenUsage u = tap.result();
            assertEquals(120L, u.inputTokens(), "masked=" + masked + " chunk=" + chunk);
            assertEquals(60L, u.outputTokens());
            all.release();
        }
    }

    @Test
    void sessionWithoutResponseDoneReportsNothing() {
        EmbeddedChannel ch = new EmbeddedChannel(new WebSocket08FrameEncoder(false));
        ch.writeOutbound(new TextWebSocketFrame("{\"type\":\"response.text.delta\",\"usage\":{\"input_tokens\":5}}"));
        ByteBuf b = ch.readOutbound();
        RealtimeUsageTap tap = new RealtimeUsageTap();
        tap.onBytes(b);
        b.release();
        ch.finishAndReleaseAll();
        assertNull(tap.result().inputTokens());
    }

    /**
     * A 64-bit length with its top bit set (RFC 6455 section 5.2 forbids it) from an upstream a
     * tenant controls: read as a negative length it stepped the tap back onto the same header
     * forever, on the event loop. Now the tap stops at it and keeps what it had summed.
     */
    @ParameterizedTest
    @ValueSource(ints = {0x82, 0x81})
    void aNegativeFrameLengthStopsTheTapInsteadOfLoopingForever(int firstByte) {
        ByteBuf done = session(false);
        ByteBuf bad = Unpooled.wrappedBuffer(new byte[] {(byte) firstByte, 0x7f, -1, -1, -1, -1, -1, -1, -1, (byte) 0xf6});
        ByteBuf after = session(false);
        RealtimeUsageTap tap = new RealtimeUsageTap();
        assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
            tap.onBytes(done);
            tap.onBytes(bad);
            tap.onBytes(after);
        });
        assertEquals(120L, tap.result().inputTokens(), "what came before is kept; nothing after is read as frames");
        done.release();
        bad.release();
        after.release();
    }

    @Test
    void aSessionIsPricedByTheModelItsUrlNamedAsResponseDoneNamesNone() {
        ByteBuf all = session(false);
        RealtimeUsageTap tap = new RealtimeUsageTap(RealtimeUsageTap.modelAskedFor("model=gpt-realtime-2025-08-28&x=1"));
        tap.onBytes(all);
        all.release();
        assertEquals(new TokenUsage("gpt-realtime-2025-08-28", 120L, 60L), tap.result());
    }

    @ParameterizedTest
    @ValueSource(strings = {"x=1", "model=", "model=gpt%0Arealtime", "model=a%22b", "model=%E2%80%A8"})
    void onlyAPlainModelNameIsTakenFromTheUrl(String query) {
        assertNull(RealtimeUsageTap.modelAskedFor(query));
        assertNull(RealtimeUsageTap.modelAskedFor("model=" + "m".repeat(RealtimeUsageTap.MAX_MODEL_CHARS + 1)));
        assertEquals("gpt-4o-realtime-preview", RealtimeUsageTap.modelAskedFor("key=secret&model=gpt-4o-realtime-preview"));
    }
}
