package dev.keyswap.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpResponseEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The head steps as one handler: in order, stoppable by any step, resumable after a park. */
class HeadStepsTest {
    private final List<String> ran = new ArrayList<>();
    private final RelayMetrics metrics = new RelayMetrics();

    private HeadStep passing(String name) {
        return (steps, request) -> {
            ran.add(name);
            steps.proceed(request);
        };
    }

    private static EmbeddedChannel channel(HeadSteps steps) {
        return new EmbeddedChannel(new HttpResponseEncoder(), new RequestReader(16384, 32768, 0), steps);
    }

    private static void send(EmbeddedChannel ch, String path) {
        ch.writeInbound(Unpooled.copiedBuffer("GET " + path + " HTTP/1.1\r\nHost: a\r\n\r\n", StandardCharsets.US_ASCII));
    }

    @Test
    void everyStepRunsInOrderAndTheRequestThenGoesOnOnce() {
        EmbeddedChannel ch = channel(new HeadSteps(metrics, passing("route"), passing("auth"), passing("swap")));
        send(ch, "/openai/v1/models");
        InboundRequest request = assertInstanceOf(InboundRequest.class, ch.readInbound());
        assertEquals("/openai/v1/models", request.path());
        assertNull(ch.readInbound(), "a bodiless request is its head alone");
        assertEquals(List.of("route", "auth", "swap"), ran);

        // The next request on the connection starts from the first step again.
        send(ch, "/openai/v1/files");
        assertInstanceOf(InboundRequest.class, ch.readInbound());
        assertEquals(List.of("route", "auth", "swap", "route", "auth", "swap"), ran);
        ch.finishAndReleaseAll();
    }

    @Test
    void aStepThatAnswersEndsTheRequestThereAndLaterStepsNeverSeeIt() {
        HeadStep refusing = (steps, request) -> {
            ran.add("auth");
            Responses.error(steps.ctx(), request, ProxyError.unauthorized("missing_token", "no token"));
        };
        EmbeddedChannel ch = channel(new HeadSteps(metrics, passing("route"), refusing, passing("swap")));
        send(ch, "/openai/v1/models");
        assertEquals(List.of("route", "auth"), ran);
        assertNull(ch.readInbound(), "nothing of the answered request goes on");
        String response = ReaderChannels.written(ch);
        assertTrue(response.startsWith("HTTP/1.1 401 "), response);
        assertTrue(response.contains("\"code\":\"missing_token\""), response);
        ch.finishAndReleaseAll();
    }

    @Test
    void aHeadTheReaderRefusesIsAnsweredHereAndGoesNoFurther() {
        EmbeddedChannel ch = new EmbeddedChannel(new HttpResponseEncoder(), new RequestReader(16384, 32768, 1024),
                CorsHandler.forOrigins(Set.of("https://app.example")), new HeadSteps(metrics, passing("route")));
        ch.writeInbound(Unpooled.copiedBuffer("POST /openai/v1/files HTTP/1.1\r\nHost: a\r\nOrigin: https://app.example\r\n"
                + "Content-Length: 2048\r\n\r\n", StandardCharsets.US_ASCII));
        assertNull(ch.readInbound(), "nothing of the refused request goes on");
        assertEquals(List.of(), ran, "no step runs");
        String response = ReaderChannels.written(ch);
        assertTrue(response.startsWith("HTTP/1.1 413 "), response);
        assertTrue(response.contains("\"code\":\"body_too_large\""), response);
        assertTrue(response.contains("access-control-allow-origin: https://app.example"), response);
        ch.finishAndReleaseAll();
    }

    @Test
    void aParkedStepResumesTheChainWhereItStopped() {
        CompletableFuture<String> lookup = new CompletableFuture<>();
        HeadStep parking = (steps, request) -> {
            ran.add("auth");
            Parking.whenDone(steps, lookup, () -> {
                ran.add("auth:" + lookup.join());
                steps.proceed(request);
            });
        };
        EmbeddedChannel ch = channel(new HeadSteps(metrics, passing("route"), parking, passing("swap")));
        // As in the server: nothing is read but what a handler asks for (the read the channel's
        // activation asked for is answered by the head).
        ch.config().setAutoRead(false);
        ch.writeInbound(Unpooled.copiedBuffer("POST /openai/v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}",
                StandardCharsets.US_ASCII));
        assertNull(ch.readInbound(), "the head is held while the lookup is out, and its body with it");
        assertEquals(List.of("route", "auth"), ran);
        assertEquals(1, metrics.parked(), "the drain waits for a parked request");

        lookup.complete("key_1");
        assertEquals(1, metrics.parked(), "still parked until its step has run again on the loop");
        ch.runPendingTasks();
        assertInstanceOf(InboundRequest.class, ch.readInbound());
        assertEquals(List.of("route", "auth", "auth:key_1", "swap"), ran);
        assertEquals(0, metrics.parked());
        assertNull(ch.readInbound(), "the body waits until it is asked for");
        ch.read();
        RequestBody body = assertInstanceOf(RequestBody.class, ch.readInbound());
        assertEquals("{}", body.content().toString(StandardCharsets.US_ASCII));
        body.release();
        ch.finishAndReleaseAll();
    }

    @Test
    void whatIsNotARequestHeadPassesStraightThrough() {
        EmbeddedChannel ch = new EmbeddedChannel(new HeadSteps(metrics, passing("route")));
        RequestBody content = new RequestBody(Unpooled.copiedBuffer("x", StandardCharsets.US_ASCII), 1, true);
        ch.writeInbound(content);
        assertSame(content, ch.readInbound());
        assertEquals(List.of(), ran);
        content.release();
        ch.finishAndReleaseAll();
    }
}
