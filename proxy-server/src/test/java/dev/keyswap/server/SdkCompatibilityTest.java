package dev.keyswap.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.models.messages.ContentBlock;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.TextBlock;
import com.google.genai.Client;
import com.google.genai.ResponseStream;
import com.google.genai.types.GenerateContentResponse;
import com.google.genai.types.HttpOptions;
import com.google.genai.types.HttpRetryOptions;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.keyswap.auth.TokenFormat;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import okhttp3.Headers;
import okhttp3.mockwebserver.Dispatcher;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import okhttp3.mockwebserver.RecordedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The official Java SDKs (OpenAI, Anthropic, Google Gen AI), unmodified, work through Keyswap when
 * only their base URL and API key change: the SDK parses what the provider answered, the provider
 * sees its real key in its own slot, and the Keyswap token reaches it nowhere.
 */
class SdkCompatibilityTest {
    static final String OPENAI_KEY = "sk-test-openai-not-real";
    static final String ANTHROPIC_KEY = "sk-fake-test-anthropic-not-real";
    static final String GEMINI_KEY = "AIza-test-gemini-not-real";

    static final String GEMINI_MODEL = "gemini-2.0-flash";

    static final String OPENAI_TEXT = "Hello from the mock OpenAI upstream.";
    static final List<String> OPENAI_DELTAS = List.of("Stream", "ing ", "through ", "Keys", "wap.");
    static final String ANTHROPIC_TEXT = "Hello from the mock Anthropic upstream.";
    static final List<String> ANTHROPIC_DELTAS = List.of("Claude ", "streams ", "via ", "Keyswap", "!");
    static final String GEMINI_TEXT = "Hello from the mock Gemini upstream.";
    static final List<String> GEMINI_DELTAS = List.of("Gemini ", "streams ", "via ", "Keyswap", ".");

    @TempDir
    static Path dir;
    static MockWebServer upstream;
    static TestKeyswap keyswap;
    static String token;

    @BeforeAll
    static void start() throws Exception {
        upstream = new MockWebServer();
        upstream.setDispatcher(new ProviderMock());
        upstream.start(java.net.InetAddress.getByName("127.0.0.1"), 0);
        String base = "http://127.0.0.1:" + upstream.getPort();
        keyswap = TestKeyswap.start(dir, TestKeyswap.providers(
                TestKeyswap.map("openai", base, "anthropic", base, "gemini", base),
                TestKeyswap.map("openai", OPENAI_KEY, "anthropic", ANTHROPIC_KEY, "gemini", GEMINI_KEY)));
        token = keyswap.token();
    }

    @AfterAll
    static void stop() throws Exception {
        keyswap.close();
        upstream.shutdown();
    }

    private int requestsBefore;

    @BeforeEach
    void countRequests() {
        requestsBefore = upstream.getRequestCount();
    }

    // ---------------------------------------------------------------------------------- OpenAI

    private static OpenAIClient openAi(String apiKey) {
        return OpenAIOkHttpClient.builder()
                .baseUrl(keyswap.baseUrl() + "/openai/v1")
                .apiKey(apiKey)
                .maxRetries(0)
                .build();
    }

    private static ChatCompletionCreateParams openAiParams() {
        return ChatCompletionCreateParams.builder()
                .model("gpt-4o-mini")
                .addUserMessage("Say hello.")
                .build();
    }

    @Test
    void openAiSdkChatCompletionGetsMockTextAndUpstreamSeesOnlyTheServerKey() throws Exception {
        OpenAIClient client = openAi(token);
        try {
            ChatCompletion completion = client.chat().completions().create(openAiParams());

            assertEquals(OPENAI_TEXT, completion.choices().get(0).message().content().orElseThrow());
            assertEquals("chatcmpl-keyswap-sdk-1", completion.id());
            assertEquals(29L, completion.usage().orElseThrow().totalTokens());
        } finally {
            client.close();
        }
        RecordedRequest r = onlyRequest();
        assertEquals("POST", r.getMethod());
        assertEquals("/v1/chat/completions", r.getPath());
        assertEquals("Bearer " + OPENAI_KEY, r.getHeader("Authorization"));
        assertEquals("java", r.getHeader("X-Stainless-Lang"), "the SDK's own headers pass through");
        assertEquals("OpenAIClientImpl/Java 4.101.0", r.getHeader("User-Agent"));
        String body = r.getBody().clone().readUtf8();
        assertTrue(body.contains("\"model\":\"gpt-4o-mini\""), body);
        assertTrue(body.contains("Say hello."), body);
        assertFalse(body.contains("\"stream\":true"), body);
    }

    @Test
    void openAiSdkStreamingAssemblesDeltasSentAsChatCompletionChunkSse() throws Exception {
        OpenAIClient client = openAi(token);
        List<ChatCompletionChunk> chunks;
        try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(openAiParams())) {
            chunks = stream.stream().collect(Collectors.toList());
        } finally {
            client.close();
        }
        String text = chunks.stream()
                .flatMap(chunk -> chunk.choices().stream())
                .flatMap(choice -> choice.delta().content().stream())
                .collect(Collectors.joining());
        assertEquals(String.join("", OPENAI_DELTAS), text);
        // role chunk + one per delta + finish chunk; the [DONE] sentinel is not a chunk
        assertEquals(OPENAI_DELTAS.size() + 2, chunks.size());
        assertEquals("stop", chunks.get(chunks.size() - 1).choices().get(0).finishReason().orElseThrow().asString());

        RecordedRequest r = onlyRequest();
        assertEquals("POST", r.getMethod());
        assertEquals("/v1/chat/completions", r.getPath());
        assertEquals("Bearer " + OPENAI_KEY, r.getHeader("Authorization"));
        String body = r.getBody().clone().readUtf8();
        assertTrue(body.contains("\"stream\":true"), body);
    }

    @Test
    void openAiSdkWithUnknownTokenGetsUnauthorizedExceptionCarryingKeyswapErrorAndUpstreamSeesNothing() {
        String wrong = TokenFormat.newToken();
        assertTrue(wrong.startsWith("ptk_"));
        OpenAIClient client = openAi(wrong);
        UnauthorizedException e;
        try {
            e = assertThrows(UnauthorizedException.class, () -> client.chat().completions().create(openAiParams()));
        } finally {
            client.close();
        }
        assertEquals(401, e.statusCode());
        // The SDK parsed Keyswap's {"error":{type,code,message,request_id}} as an OpenAI error.
        assertEquals("invalid_token", e.code().orElseThrow());
        assertEquals("authentication_error", e.type().orElseThrow());
        assertEquals("401: the Keyswap token is not valid", e.getMessage());
        Map<?, ?> error = e.body().convert(Map.class);
        String requestId = e.headers().values("x-request-id").get(0);
        assertTrue(requestId.startsWith("req_"), requestId);
        assertEquals(requestId, error.get("request_id"));
        assertEquals("the Keyswap token is not valid", error.get("message"));
        assertFalse(e.body().toString().contains(wrong), "the token must not be echoed: " + e.body());
        assertEquals(requestsBefore, upstream.getRequestCount(), "a refused request must never reach the upstream");
    }

    // ------------------------------------------------------------------------------- Anthropic

    private static AnthropicClient anthropicWithApiKey() {
        return AnthropicOkHttpClient.builder()
                .baseUrl(keyswap.baseUrl() + "/anthropic")
                .apiKey(token)
                .maxRetries(0)
                .build();
    }

    private static MessageCreateParams anthropicParams() {
        return MessageCreateParams.builder()
                .model("claude-sonnet-4-20250514")
                .maxTokens(256)
                .addUserMessage("Say hello.")
                .build();
    }

    private static String messageText(Message message) {
        return message.content().stream()
                .map(ContentBlock::text)
                .flatMap(java.util.Optional::stream)
                .map(TextBlock::text)
                .collect(Collectors.joining());
    }

    private RecordedRequest assertAnthropicUpstreamRequest() throws Exception {
        RecordedRequest r = onlyRequest();
        assertEquals("POST", r.getMethod());
        assertEquals("/v1/messages", r.getPath());
        assertEquals(ANTHROPIC_KEY, r.getHeader("x-api-key"));
        assertNull(r.getHeader("Authorization"), "upstream Anthropic gets x-api-key alone");
        String version = r.getHeader("anthropic-version");
        assertNotNull(version, "the SDK's anthropic-version header passes through");
        assertTrue(version.matches("\\d{4}-\\d{2}-\\d{2}"), version);
        assertEquals("AnthropicClientImpl/Java 3.12.0", r.getHeader("User-Agent"));
        return r;
    }

    @Test
    void anthropicSdkApiKeySentAsBearerReachesUpstreamAsXApiKeyOnlyAndMessageTextParses() throws Exception {
        AnthropicClient client = anthropicWithApiKey();
        try {
            Message message = client.messages().create(anthropicParams());
            assertEquals(ANTHROPIC_TEXT, messageText(message));
            assertEquals("msg_keyswap_sdk_1", message.id());
            assertEquals(12L, message.usage().outputTokens());
        } finally {
            client.close();
        }
        RecordedRequest r = assertAnthropicUpstreamRequest();
        String body = r.getBody().clone().readUtf8();
        assertTrue(body.contains("\"max_tokens\":256"), body);
        assertFalse(body.contains("\"stream\":true"), body);
    }

    @Test
    void anthropicSdkStreamingAssemblesTextDeltasFromNamedSseEvents() throws Exception {
        AnthropicClient client = anthropicWithApiKey();
        List<RawMessageStreamEvent> events;
        try (var stream = client.messages().createStreaming(anthropicParams())) {
            events = stream.stream().collect(Collectors.toList());
        } finally {
            client.close();
        }
        String text = events.stream()
                .flatMap(event -> event.contentBlockDelta().stream())
                .flatMap(delta -> delta.delta().text().stream())
                .map(textDelta -> textDelta.text())
                .collect(Collectors.joining());
        assertEquals(String.join("", ANTHROPIC_DELTAS), text);
        assertTrue(events.get(0).isMessageStart(), "first event is message_start");
        assertTrue(events.get(events.size() - 1).isMessageStop(), "last event is message_stop");
        assertEquals("end_turn", events.stream().flatMap(ev -> ev.messageDelta().stream())
                .findFirst().orElseThrow().delta().stopReason().orElseThrow().asString());

        RecordedRequest r = assertAnthropicUpstreamRequest();
        String body = r.getBody().clone().readUtf8();
        assertTrue(body.contains("\"stream\":true"), body);
    }

    @Test
    void anthropicSdkAuthTokenBearerReachesUpstreamAsXApiKeyOnly() throws Exception {
        AnthropicClient client = AnthropicOkHttpClient.builder()
                .baseUrl(keyswap.baseUrl() + "/anthropic")
                .authToken(token)
                .maxRetries(0)
                .build();
        try {
            assertEquals(ANTHROPIC_TEXT, messageText(client.messages().create(anthropicParams())));
        } finally {
            client.close();
        }
        assertAnthropicUpstreamRequest();
    }

    // ---------------------------------------------------------------------------------- Gemini

    private static Client gemini() {
        return Client.builder()
                .vertexAI(false) // Gemini Developer API, never Vertex (even if the environment says so)
                .apiKey(token)
                .httpOptions(HttpOptions.builder()
                        .baseUrl(keyswap.baseUrl() + "/gemini")
                        .retryOptions(HttpRetryOptions.builder().attempts(1).build())
                        .build())
                .build();
    }

    /** google-genai sends its API key as x-goog-api-key; Keyswap puts the real key in that same slot. */
    private void assertGeminiServerKeyInHeaderSlot(RecordedRequest r) {
        assertEquals(GEMINI_KEY, r.getHeader("x-goog-api-key"));
        assertNull(r.getRequestUrl().queryParameter("key"), "no key= query when the client used the header slot");
        assertNull(r.getHeader("Authorization"));
        assertTrue(r.getHeader("x-goog-api-client").startsWith("google-genai-sdk/1.70.0"), "the SDK's own headers pass through");
    }

    @Test
    void geminiSdkGenerateContentGetsCandidateTextAndUpstreamSeesOnlyTheServerKey() throws Exception {
        try (Client client = gemini()) {
            GenerateContentResponse response = client.models.generateContent(GEMINI_MODEL, "Say hello.", null);
            assertEquals(GEMINI_TEXT, response.text());
            assertEquals(13, response.usageMetadata().orElseThrow().totalTokenCount().orElseThrow());
        }
        RecordedRequest r = onlyRequest();
        assertEquals("POST", r.getMethod());
        assertEquals("/v1beta/models/" + GEMINI_MODEL + ":generateContent", r.getRequestUrl().encodedPath());
        assertGeminiServerKeyInHeaderSlot(r);
        String body = r.getBody().clone().readUtf8();
        assertTrue(body.contains("Say hello."), body);
    }

    @Test
    void geminiSdkStreamGenerateContentAssemblesTextFromAltSseChunks() throws Exception {
        List<String> parts = new ArrayList<>();
        try (Client client = gemini();
             ResponseStream<GenerateContentResponse> stream = client.models.generateContentStream(GEMINI_MODEL, "Say hello.", null)) {
            for (GenerateContentResponse chunk : stream) {
                parts.add(chunk.text());
            }
        }
        assertEquals(GEMINI_DELTAS, parts);

        RecordedRequest r = onlyRequest();
        assertEquals("POST", r.getMethod());
        assertEquals("/v1beta/models/" + GEMINI_MODEL + ":streamGenerateContent", r.getRequestUrl().encodedPath());
        assertEquals("sse", r.getRequestUrl().queryParameter("alt"));
        assertGeminiServerKeyInHeaderSlot(r);
    }

    // ---------------------------------------------------------------------------------- helpers

    /** The one request this test sent upstream (SDK retries are off), checked for the token. */
    private RecordedRequest onlyRequest() throws Exception {
        assertEquals(requestsBefore + 1, upstream.getRequestCount(), "exactly one upstream request");
        RecordedRequest r = upstream.takeRequest(5, TimeUnit.SECONDS);
        assertNotNull(r);
        assertTokenAbsent(r);
        return r;
    }

    private static void assertTokenAbsent(RecordedRequest recorded) {
        assertFalse(recorded.getRequestLine().contains(token), "token in request line: " + recorded.getRequestLine());
        Headers h = recorded.getHeaders();
        for (String name : h.names()) {
            for (String value : h.values(name)) {
                assertFalse(value.contains(token), "token in header " + name);
            }
        }
        assertFalse(recorded.getBody().clone().readUtf8().contains(token), "token in body");
    }

    @AfterEach
    void noStrayRequests() throws Exception {
        RecordedRequest stray = upstream.takeRequest(0, TimeUnit.MILLISECONDS);
        assertNull(stray, () -> "unexpected upstream request: " + stray.getRequestLine());
    }

    /** Answers like the real providers do, by path. */
    static final class ProviderMock extends Dispatcher {
        @Override
        public MockResponse dispatch(RecordedRequest request) {
            String path = request.getRequestUrl().encodedPath();
            String body = request.getBody().clone().readUtf8();
            boolean stream = body.contains("\"stream\":true");
            if (path.equals("/v1/chat/completions")) {
                return stream ? openAiChunks() : json(openAiCompletion()).addHeader("openai-processing-ms", "321");
            }
            if (path.equals("/v1/messages")) {
                return stream ? anthropicEvents() : json(anthropicMessage());
            }
            if (path.equals("/v1beta/models/" + GEMINI_MODEL + ":generateContent")) {
                return json(geminiResponse(GEMINI_TEXT, true));
            }
            if (path.equals("/v1beta/models/" + GEMINI_MODEL + ":streamGenerateContent")
                    && "sse".equals(request.getRequestUrl().queryParameter("alt"))) {
                StringBuilder sse = new StringBuilder();
                for (int i = 0; i < GEMINI_DELTAS.size(); i++) {
                    // Gemini separates events with CRLF CRLF
                    sse.append("data: ").append(geminiResponse(GEMINI_DELTAS.get(i), i == GEMINI_DELTAS.size() - 1))
                            .append("\r\n\r\n");
                }
                return sse(sse.toString());
            }
            return new MockResponse().setResponseCode(404).addHeader("Content-Type", "application/json")
                    .setBody("{\"error\":{\"message\":\"mock has no route for " + path + "\"}}");
        }

        static MockResponse json(String body) {
            return new MockResponse().addHeader("Content-Type", "application/json").setBody(body);
        }

        static MockResponse sse(String body) {
            return new MockResponse().addHeader("Content-Type", "text/event-stream; charset=utf-8")
                    .addHeader("Cache-Control", "no-cache").setChunkedBody(body, 64);
        }

        static String openAiCompletion() {
            return """
                    {"id":"chatcmpl-keyswap-sdk-1","object":"chat.completion","created":1741569952,\
                    "model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant",\
                    "content":"%s","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],\
                    "usage":{"prompt_tokens":19,"completion_tokens":10,"total_tokens":29,\
                    "prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},\
                    "completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,\
                    "accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},\
                    "service_tier":"default","system_fingerprint":"fp_06737a9306"}""".formatted(OPENAI_TEXT);
        }

        static String openAiChunk(String delta, String finishReason) {
            return ("{\"id\":\"chatcmpl-keyswap-sdk-2\",\"object\":\"chat.completion.chunk\",\"created\":1741569952,"
                    + "\"model\":\"gpt-4o-mini-2024-07-18\",\"service_tier\":\"default\",\"system_fingerprint\":\"fp_06737a9306\","
                    + "\"choices\":[{\"index\":0,\"delta\":%s,\"logprobs\":null,\"finish_reason\":%s}]}")
                    .formatted(delta, finishReason == null ? "null" : "\"" + finishReason + "\"");
        }

        static MockResponse openAiChunks() {
            StringBuilder sse = new StringBuilder();
            sse.append("data: ").append(openAiChunk("{\"role\":\"assistant\",\"content\":\"\",\"refusal\":null}", null)).append("\n\n");
            for (String d : OPENAI_DELTAS) {
                sse.append("data: ").append(openAiChunk("{\"content\":\"" + d + "\"}", null)).append("\n\n");
            }
            sse.append("data: ").append(openAiChunk("{}", "stop")).append("\n\n");
            sse.append("data: [DONE]\n\n");
            return sse(sse.toString());
        }

        static String anthropicMessage() {
            return """
                    {"id":"msg_keyswap_sdk_1","type":"message","role":"assistant","model":"claude-sonnet-4-20250514",\
                    "content":[{"type":"text","text":"%s"}],"stop_reason":"end_turn","stop_sequence":null,\
                    "usage":{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,\
                    "output_tokens":12,"service_tier":"standard"}}""".formatted(ANTHROPIC_TEXT);
        }

        static MockResponse anthropicEvents() {
            StringBuilder sse = new StringBuilder();
            event(sse, "message_start", """
                    {"type":"message_start","message":{"id":"msg_keyswap_sdk_2","type":"message","role":"assistant",\
                    "model":"claude-sonnet-4-20250514","content":[],"stop_reason":null,"stop_sequence":null,\
                    "usage":{"input_tokens":10,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}""");
            event(sse, "content_block_start", "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
            event(sse, "ping", "{\"type\": \"ping\"}");
            for (String d : ANTHROPIC_DELTAS) {
                event(sse, "content_block_delta",
                        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"" + d + "\"}}");
            }
            event(sse, "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}");
            event(sse, "message_delta",
                    "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":12}}");
            event(sse, "message_stop", "{\"type\":\"message_stop\"}");
            return sse(sse.toString());
        }

        static void event(StringBuilder sse, String name, String data) {
            sse.append("event: ").append(name).append('\n').append("data: ").append(data).append("\n\n");
        }

        static String geminiResponse(String text, boolean last) {
            return ("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"%s\"}],\"role\":\"model\"}%s,\"index\":0}],"
                    + "\"usageMetadata\":{\"promptTokenCount\":4,%s\"totalTokenCount\":%d,"
                    + "\"promptTokensDetails\":[{\"modality\":\"TEXT\",\"tokenCount\":4}]},"
                    + "\"modelVersion\":\"gemini-2.0-flash\",\"responseId\":\"keyswap-sdk-gemini\"}")
                    .formatted(text, last ? ",\"finishReason\":\"STOP\"" : "",
                            last ? "\"candidatesTokenCount\":9," : "", last ? 13 : 4);
        }
    }
}
