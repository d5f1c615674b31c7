package dev.keyswap.bench.jmh;

import dev.keyswap.usage.TokenUsage;
import dev.keyswap.usage.UsageExtractor;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Metering: {@link UsageExtractor} reading model and token counts out of response bodies as they
 * stream past.
 *
 * <p><b>Budget: under 1 µs per SSE event.</b> A streamed completion is hundreds of small events
 * (one per few tokens), so per-event cost multiplies: at 1 µs an answer of 500 chunks costs
 * 0.5 ms of CPU, already more than the per-request budget, which is why streaming is metered per
 * event rather than folded into the request's slice. nginx spends ~28 µs CPU per proxied
 * request on this 2-core machine and Keyswap must beat it with metering on; nginx's own per-event
 * relay cost is a few hundred ns of memcpy and syscalls, so metering has to stay near that. The
 * whole-body JSON case ({@code openAiFullJson}, a 2 KB {@code chat.completion}) has no slice of
 * its own yet: it is paid once per non-streamed response, so read it against the ~28 µs total.
 *
 * <p>Buffers are pre-allocated with {@link Unpooled} and never have their indices moved (the
 * extractor only reads), so one buffer serves every invocation. {@code buffer=heap} takes the
 * extractor's array path; {@code buffer=direct} is what Netty's epoll transport hands the relay
 * (pooled direct memory), which goes through the per-thread copy. The SSE extractors persist
 * across invocations like one long stream: each op is one complete event ending in a blank line,
 * so the reader resets its scanner exactly as between real events. Each stream's model is known
 * before measuring, as in a real stream after its first event, so {@code openAiChunk} and
 * {@code anthropicContentBlockDelta} measure the pass-over of an event without counts
 * ({@link dev.keyswap.usage.UsageExtractor}'s SSE reader), and {@code geminiChunk} and
 * {@code openAiUsageChunk} the full scan of one that has them.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
@Fork(1)
public class UsageExtractionBenchmark {
    /** A content delta chunk from OpenAI chat completions streaming (the bulk of a stream). */
    static final String OPENAI_CHUNK = "data: {\"id\":\"chatcmpl-BQkzZ6f3JwbWZ1xP9v5EXnXxC2Ia3\",\"object\":\"chat.completion.chunk\","
            + "\"created\":1745743853,\"model\":\"gpt-4o-mini-2024-07-18\",\"service_tier\":\"default\","
            + "\"system_fingerprint\":\"fp_0392822090\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" world\"},"
            + "\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}\n\n";

    /** The last chunk with stream_options.include_usage: the one that carries the counts. */
    static final String OPENAI_USAGE_CHUNK = "data: {\"id\":\"chatcmpl-BQkzZ6f3JwbWZ1xP9v5EXnXxC2Ia3\",\"object\":\"chat.completion.chunk\","
            + "\"created\":1745743853,\"model\":\"gpt-4o-mini-2024-07-18\",\"service_tier\":\"default\","
            + "\"system_fingerprint\":\"fp_0392822090\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,"
            + "\"completion_tokens\":12,\"total_tokens\":21,\"prompt_tokens_details\":{\"cached_tokens\":0,"
            + "\"audio_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,"
            + "\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}}\n\n";

    /** Anthropic Messages streaming: the event that carries each text delta. */
    static final String ANTHROPIC_DELTA = "event: content_block_delta\n"
            + "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" world\"}}\n\n";

    /**
     * Gemini streamGenerateContent?alt=sse: CRLF line ends, and every chunk repeats usageMetadata
     * and modelVersion, so every event is one that must be read.
     */
    static final String GEMINI_CHUNK = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" quick brown fox.\"}],"
            + "\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 9,\"candidatesTokenCount\": 20,"
            + "\"totalTokenCount\": 29,\"promptTokensDetails\": [{\"modality\": \"TEXT\",\"tokenCount\": 9}]},"
            + "\"modelVersion\": \"gemini-2.0-flash\",\"responseId\": \"mkFXaJDgL5mVkdUPk9b0wQk\"}\r\n\r\n";

    @Param({"heap", "direct"})
    public String buffer;

    private ByteBuf openAiChunk;
    private ByteBuf openAiUsageChunk;
    private ByteBuf anthropicDelta;
    private ByteBuf geminiChunk;
    private ByteBuf openAiJson;
    private ByteBuf benchChatJson;
    private UsageExtractor openAiStream;
    private UsageExtractor openAiUsageStream;
    private UsageExtractor anthropicStream;
    private UsageExtractor geminiStream;

    @Setup
    public void setUp() {
        openAiChunk = buf(OPENAI_CHUNK);
        openAiUsageChunk = buf(OPENAI_USAGE_CHUNK);
        anthropicDelta = buf(ANTHROPIC_DELTA);
        geminiChunk = buf(GEMINI_CHUNK);
        String json = chatCompletionJson(2048);
        openAiJson = buf(json);
        benchChatJson = buf(dev.keyswap.bench.load.BenchUpstream.CHAT_JSON); // what proxy-bench/run.sh meters
        openAiStream = UsageExtractor.forContentType("text/event-stream");
        openAiUsageStream = UsageExtractor.forContentType("text/event-stream; charset=utf-8");
        anthropicStream = UsageExtractor.forContentType("text/event-stream");
        // A real stream's message_start names the model before any content delta arrives.
        ByteBuf messageStart = buf("event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":"
                + "\"claude-sonnet-4-20250514\",\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n");
        anthropicStream.onContent(messageStart);
        messageStart.release();
        geminiStream = UsageExtractor.forContentType("text/event-stream");

        TokenUsage full = fullJson();
        openAiUsageStream.onContent(openAiUsageChunk);
        TokenUsage streamed = openAiUsageStream.result();
        openAiStream.onContent(openAiChunk);
        geminiStream.onContent(geminiChunk);
        TokenUsage gemini = geminiStream.result();
        if (!"gemini-2.0-flash".equals(gemini.model()) || gemini.inputTokens() == null || gemini.inputTokens() != 9
                || gemini.outputTokens() == null || gemini.outputTokens() != 20) {
            throw new IllegalStateException("gemini fixture not understood: " + gemini);
        }
        if (!"gpt-4o-2024-08-06".equals(full.model()) || full.inputTokens() == null || full.inputTokens() != 19
                || full.outputTokens() == null || full.outputTokens() != 410
                || streamed.outputTokens() == null || streamed.outputTokens() != 12
                || !"gpt-4o-mini-2024-07-18".equals(openAiStream.result().model())) {
            throw new IllegalStateException("extractor fixture not understood: " + full + " / " + streamed);
        }
    }

    @TearDown
    public void tearDown() {
        openAiChunk.release();
        openAiUsageChunk.release();
        anthropicDelta.release();
        geminiChunk.release();
        openAiJson.release();
        benchChatJson.release();
    }

    private ByteBuf buf(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        ByteBuf b = buffer.equals("direct") ? Unpooled.directBuffer(bytes.length) : Unpooled.buffer(bytes.length);
        return b.writeBytes(bytes);
    }

    /** A non-streamed chat.completion padded with assistant text to {@code size} bytes. */
    static String chatCompletionJson(int size) {
        String head = "{\n  \"id\": \"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\",\n  \"object\": \"chat.completion\",\n"
                + "  \"created\": 1741569952,\n  \"model\": \"gpt-4o-2024-08-06\",\n  \"choices\": [\n    {\n"
                + "      \"index\": 0,\n      \"message\": {\n        \"role\": \"assistant\",\n        \"content\": \"";
        String tail = "\",\n        \"refusal\": null,\n        \"annotations\": []\n      },\n      \"logprobs\": null,\n"
                + "      \"finish_reason\": \"stop\"\n    }\n  ],\n  \"usage\": {\n    \"prompt_tokens\": 19,\n"
                + "    \"completion_tokens\": 410,\n    \"total_tokens\": 429,\n"
                + "    \"prompt_tokens_details\": {\"cached_tokens\": 0, \"audio_tokens\": 0},\n"
                + "    \"completion_tokens_details\": {\"reasoning_tokens\": 0, \"audio_tokens\": 0,\n"
                + "      \"accepted_prediction_tokens\": 0, \"rejected_prediction_tokens\": 0}\n  },\n"
                + "  \"service_tier\": \"default\",\n  \"system_fingerprint\": \"fp_fc9f1d7035\"\n}\n";
        String prose = "A reverse proxy terminates the client's connection, checks the request, and opens its own "
                + "connection upstream. \\\"Quoted\\\" text and a newline\\n appear as JSON escapes. ";
        StringBuilder content = new StringBuilder();
        while (head.length() + content.length() + tail.length() < size) {
            content.append(prose);
        }
        content.setLength(size - head.length() - tail.length());
        while (content.charAt(content.length() - 1) == '\\') { // never cut an escape in half
            content.setLength(content.length() - 1);
            content.append(' ');
        }
        return head + content + tail;
    }

    /** One content-delta event of a long OpenAI stream. */
    @Benchmark
    public UsageExtractor openAiChunk() {
        openAiStream.onContent(openAiChunk);
        return openAiStream;
    }

    /** The final OpenAI chunk, which carries the usage object. */
    @Benchmark
    public UsageExtractor openAiUsageChunk() {
        openAiUsageStream.onContent(openAiUsageChunk);
        return openAiUsageStream;
    }

    /** One Anthropic content_block_delta event (named event plus data line). */
    @Benchmark
    public UsageExtractor anthropicContentBlockDelta() {
        anthropicStream.onContent(anthropicDelta);
        return anthropicStream;
    }

    /** One Gemini SSE chunk (usageMetadata and modelVersion in every event). */
    @Benchmark
    public UsageExtractor geminiChunk() {
        geminiStream.onContent(geminiChunk);
        return geminiStream;
    }

    /** A whole 2 KB chat.completion body, per response: extractor creation, scan, result. */
    @Benchmark
    public TokenUsage openAiFullJson() {
        return fullJson();
    }

    /** The load harness's ~300-byte chat.completion, per response: extractor creation, scan, result. */
    @Benchmark
    public TokenUsage benchChatJson() {
        UsageExtractor x = UsageExtractor.forContentType("application/json");
        x.onContent(benchChatJson);
        return x.result();
    }

    private TokenUsage fullJson() {
        UsageExtractor x = UsageExtractor.forContentType("application/json");
        x.onContent(openAiJson);
        return x.result();
    }
}
